"""Audit-trail API: shapes, filters, permissions, and no writes."""

import datetime as dt

import pytest
from django.utils import timezone

from compliance.models import AuditEvent
from compliance.services import audit_record

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"
LIST = "/api/v1/audit-events"
FIELDS = {
    "id", "chain", "seq", "occurred_at", "action", "object_type", "object_id", "actor_id", "actor_username",
    "source_ip", "request_id", "before", "after", "prev_hash", "hash",
}  # fmt: skip


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    return response.json()


@pytest.fixture
def officer(api_client, user_in_role):
    api_client.force_authenticate(user_in_role("Compliance Officer"))
    return api_client


@pytest.fixture
def trail(django_user_model):
    dealer = django_user_model.objects.create_user("dealer1")
    audit_record(action="order.accepted", object_type="orders.order", object_id="1", actor=dealer)
    audit_record(action="order.rejected", object_type="orders.order", object_id="2", actor=dealer)
    audit_record(action="fill.applied", object_type="orders.fill", object_id="1")
    return dealer


def seqs(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [e["seq"] for e in response.json()["results"]]


def test_list_is_newest_first_and_pages_by_cursor(officer, trail):
    body = officer.get(LIST, {"page_size": 2}).json()

    assert set(body) == {"next", "previous", "results"}
    assert [e["seq"] for e in body["results"]] == [3, 2]
    assert set(body["results"][0]) == FIELDS
    assert seqs(officer.get(body["next"])) == [1]


def test_detail_by_id(officer, trail):
    event = AuditEvent.objects.get(seq=2)

    body = officer.get(f"{LIST}/{event.pk}").json()

    assert set(body) == FIELDS
    assert (body["action"], body["actor_username"], body["hash"]) == (
        "order.rejected",
        "dealer1",
        event.hash,
    )
    assert problem(officer.get(f"{LIST}/99"), 404)["type"] == "/api/problems/not-found"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"action": "order.rejected"}, [2]),
        ({"object_type": "orders.order"}, [2, 1]),
        ({"object_type": "orders.order", "object_id": "1"}, [1]),
        ({"actor": "dealer1"}, [2, 1]),
        ({"actor": "system"}, [3]),
    ],
)
def test_filters(officer, trail, params, expected):
    assert seqs(officer.get(LIST, params)) == expected


def test_filter_by_actor_id_and_time(officer, trail):
    today = timezone.localdate().isoformat()  # dates are IST days
    first = AuditEvent.objects.get(seq=1).occurred_at

    assert seqs(officer.get(LIST, {"actor": str(trail.pk)})) == [2, 1]
    assert seqs(officer.get(LIST, {"from": today, "to": today})) == [3, 2, 1]
    assert seqs(officer.get(LIST, {"to": "2000-01-01"})) == []
    later = (first + dt.timedelta(microseconds=1)).isoformat()
    assert seqs(officer.get(LIST, {"to": later})) == [1]
    assert seqs(officer.get(LIST, {"from": later})) == [3, 2]


def test_a_bad_time_is_a_field_error(officer):
    body = problem(officer.get(LIST, {"from": "yesterday"}), 400)
    assert body["errors"] == {
        "from": ["'yesterday' is not a date (YYYY-MM-DD) or an ISO datetime."]
    }


def test_anonymous_is_401_and_a_trader_is_403(api_client, user_in_role, trail):
    body = problem(api_client.get(LIST), 401)
    assert body["type"] == "/api/problems/not-authenticated"
    api_client.force_authenticate(user_in_role("Trader"))
    body = problem(api_client.get(f"{LIST}/1"), 403)
    assert body["detail"] == "This needs the compliance.view_audit_trail permission."


def test_the_auditor_may_read(api_client, user_in_role, trail):
    api_client.force_authenticate(user_in_role("Auditor"))
    assert seqs(api_client.get(LIST)) == [3, 2, 1]


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("url", [LIST, f"{LIST}/1"])
def test_writes_are_405(officer, trail, method, url):
    body = problem(getattr(officer, method)(url, {"action": "x"}, format="json"), 405)
    assert body["type"] == "/api/problems/method-not-allowed"
    assert AuditEvent.objects.count() == 3
    assert AuditEvent.objects.get(seq=1).action == "order.accepted"
