"""The audit trail in the admin: readable, never editable, and verifiable with one button."""

import pytest
from django.contrib.messages import get_messages

from compliance.models import AuditEvent

pytestmark = pytest.mark.django_db
VERIFY = "/admin/compliance/auditevent/verify/"


@pytest.fixture
def superuser_client(client, django_user_model, otp_login):
    return otp_login(client, django_user_model.objects.create_superuser("root", password="x" * 16))


def test_even_a_superuser_cannot_add_change_or_delete(superuser_client, record_events):
    event = record_events(1)[0]
    base = "/admin/compliance/auditevent/"

    listing = superuser_client.get(base)
    detail = superuser_client.get(f"{base}{event.pk}/change/")

    assert listing.status_code == 200
    assert b"Verify chain" in listing.content
    assert b"/admin/compliance/auditevent/add/" not in listing.content
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content
    assert superuser_client.get(f"{base}add/").status_code == 403
    assert superuser_client.get(f"{base}{event.pk}/delete/").status_code == 403
    changed = superuser_client.post(f"{base}{event.pk}/change/", {"action": "rewritten"})
    assert changed.status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"


def test_the_list_filters_by_action(superuser_client, record_events):
    record_events(2, action="order.accepted")
    record_events(1, action="order.rejected")

    response = superuser_client.get("/admin/compliance/auditevent/", {"action": "order.rejected"})

    assert [e.action for e in response.context["cl"].result_list] == ["order.rejected"]


def test_verify_chain_shows_the_result(client, user_in_role, record_events, tamper, otp_login):
    otp_login(client, user_in_role("Auditor"))
    record_events(2)

    response = client.post(VERIFY, follow=True)
    [message] = list(get_messages(response.wsgi_request))
    assert message.level_tag == "success"
    assert message.message.startswith("Audit chain intact: 3 events checked")  # + the login

    tamper(2, action="x")
    response = client.post(VERIFY, follow=True)
    [message] = list(get_messages(response.wsgi_request))
    assert message.level_tag == "error"
    assert "BROKEN at seq 2" in message.message


def test_verify_needs_the_permission_and_a_post(client, user_in_role, django_user_model, otp_login):
    staff = django_user_model.objects.create_user("clerk", password="x" * 16, is_staff=True)
    otp_login(client, staff)
    assert client.post(VERIFY).status_code == 403
    otp_login(client, user_in_role("Compliance Officer"))
    assert client.get(VERIFY).status_code == 405
