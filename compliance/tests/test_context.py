"""The request context: audit_record inside a request knows who, from where, and which request."""

import base64

import pytest
from django.conf import settings

from compliance.context import current_audit_context
from compliance.models import AuditEvent

pytestmark = pytest.mark.django_db


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_the_middleware_sits_after_authentication():
    middleware = settings.MIDDLEWARE
    ours = middleware.index("compliance.middleware.AuditContextMiddleware")
    assert ours == middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1
    assert middleware.index("django_guid.middleware.guid_middleware") < ours


@pytest.mark.urls("compliance.tests.urls")
def test_a_drf_request_gives_its_user_ip_and_request_id(api_client, user_in_role):
    trader = user_in_role("Trader")

    response = api_client.post(
        "/record",
        HTTP_AUTHORIZATION=basic("trader", "not-a-real-password-1"),
        HTTP_X_REQUEST_ID="req-7f3a-0042",
        REMOTE_ADDR="198.51.100.23",
    )

    assert response.status_code == 200, response.content
    event = AuditEvent.objects.get(seq=response.json()["seq"])
    assert (event.actor_id, event.actor_username) == (trader.pk, "trader")
    assert (event.request_id, event.source_ip) == ("req-7f3a-0042", "198.51.100.23")
    assert response["X-Request-ID"] == "req-7f3a-0042"
    assert current_audit_context() is None  # reset after the response


@pytest.mark.urls("compliance.tests.urls")
def test_an_anonymous_request_is_recorded_as_system_with_its_ip(client):
    response = client.post("/record/open", REMOTE_ADDR="198.51.100.24")

    assert response.status_code == 200, response.content
    event = AuditEvent.objects.get(seq=response.json()["seq"])
    assert (event.actor_id, event.actor_username) == (None, "system")
    assert event.source_ip == "198.51.100.24"
    assert len(event.request_id) == 32  # the id django_guid made up for this request
