"""What the audit-trail API answers when it cannot serve a request (issue 10)."""

import pytest

from compliance.services import audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(api_client, user_in_role):
    api_client.force_authenticate(user_in_role("Compliance Officer"))
    audit_record(action="order.accepted", object_type="orders.order", object_id="1")
    return api_client


@pytest.mark.parametrize("cursor", ["bogus", "bz0tMQ==", ""])  # not base64; "o=-1"
def test_a_bad_cursor_is_a_400_on_the_cursor_field(officer, cursor):
    answer = officer.get("/api/v1/audit-events", {"cursor": cursor})
    if cursor == "":  # an empty cursor is no cursor: the first page
        assert answer.status_code == 200
        return
    assert answer.status_code == 400, answer.content
    body = answer.json()
    assert body["type"] == "/api/problems/validation-error"
    assert list(body["errors"]) == ["cursor"]


def test_an_unknown_event_is_named(officer):
    answer = officer.get("/api/v1/audit-events/99")
    assert answer.status_code == 404
    assert answer.json()["detail"] == "No audit event 99."
