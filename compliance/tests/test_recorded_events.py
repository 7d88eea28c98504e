"""What the compliance app records by itself: logins, logouts, failed logins, admin changes."""

import json

import pytest

from compliance.models import AuditEvent, Client
from compliance.verify import audit_verify
from risk.models import Desk

pytestmark = pytest.mark.django_db
PASSWORD = "not-a-real-password-1"


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def test_admin_logins_good_and_bad_and_logout_are_recorded_with_the_ip(client, user_in_role):
    officer = user_in_role("Compliance Officer")

    bad = client.post(
        "/admin/login/",
        {"username": officer.username, "password": "wrong-password-123"},
        REMOTE_ADDR="203.0.113.9",
    )
    good = client.post(
        "/admin/login/?next=/admin/",
        {"username": officer.username, "password": PASSWORD},
        REMOTE_ADDR="203.0.113.10",
    )
    out = client.post("/admin/logout/", REMOTE_ADDR="203.0.113.11")

    assert (bad.status_code, good.status_code, out.status_code) == (200, 302, 200)
    [failed] = events("auth.login_failed")
    assert failed.after == {"username": "compliance_officer"}
    assert (failed.actor_username, failed.source_ip) == ("system", "203.0.113.9")
    assert "wrong-password" not in json.dumps([failed.before, failed.after])
    [login] = events("auth.login")
    assert (login.actor_id, login.actor_username) == (officer.pk, "compliance_officer")
    assert (login.object_type, login.object_id) == ("auth.user", str(officer.pk))
    assert login.source_ip == "203.0.113.10"
    [logout] = events("auth.logout")
    assert (logout.actor_username, logout.source_ip) == ("compliance_officer", "203.0.113.11")
    assert [e.seq for e in (failed, login, logout)] == [1, 2, 3]
    assert audit_verify().ok


def test_a_failed_api_login_is_recorded_without_the_password(api_client, user_in_role):
    user_in_role("Auditor")
    api_client.credentials(
        HTTP_AUTHORIZATION="Basic YXVkaXRvcjpndWVzc2VkLXBhc3N3b3Jk"
    )  # auditor:guessed-password

    response = api_client.get("/api/v1/audit-events", REMOTE_ADDR="198.51.100.4")

    assert response.status_code == 401
    [failed] = events("auth.login_failed")
    assert (failed.after, failed.source_ip) == ({"username": "auditor"}, "198.51.100.4")


def test_changing_a_client_in_the_admin_is_recorded(client, user_in_role, otp_login):
    officer = user_in_role("Compliance Officer")
    asha = Client.objects.create(name="Asha Rao", pan="ABCPE1234F")
    otp_login(client, officer)

    response = client.post(
        f"/admin/compliance/client/{asha.pk}/change/",
        {
            "name": "Asha R. Rao",
            "pan": "ABCPE1234F",
            "kyc_status": "verified",
            "kyc_verified_at_0": "",
            "kyc_verified_at_1": "",
        },
        REMOTE_ADDR="192.0.2.20",
    )

    assert response.status_code == 302, response.content
    [change] = events("admin.change")
    assert (change.object_type, change.object_id) == ("compliance.client", str(asha.pk))
    assert (change.actor_id, change.actor_username) == (officer.pk, "compliance_officer")
    assert change.after["object_repr"] == "Asha R. Rao (ABCPE1234F)"
    assert change.after["change_message"] == "Changed Name."
    asha.refresh_from_db()
    assert asha.kyc_status == Client.KycStatus.PENDING  # read-only: only KYC services set it
    assert change.source_ip == "192.0.2.20"


def test_adding_and_deleting_in_the_admin_are_recorded(client, user_in_role, otp_login):
    otp_login(client, user_in_role("Administrator"))

    client.post("/admin/risk/desk/add/", {"name": "Equities"})
    made = Desk.objects.get(name="Equities")
    client.post(f"/admin/risk/desk/{made.pk}/delete/", {"post": "yes"})

    assert [e.object_id for e in events("admin.add")] == [str(made.pk)]
    assert [e.object_id for e in events("admin.delete")] == [str(made.pk)]
    assert not Desk.objects.filter(pk=made.pk).exists()


def test_a_bulk_delete_in_the_admin_records_every_object(client, user_in_role, otp_login):
    otp_login(client, user_in_role("Administrator"))
    doomed = [Desk.objects.create(name=f"Desk {n}") for n in range(3)]
    response = client.post(
        "/admin/risk/desk/",
        {"action": "delete_selected", "_selected_action": [d.pk for d in doomed], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Desk.objects.filter(pk__in=[d.pk for d in doomed]).exists()
    deleted = events("admin.delete")
    assert sorted(e.object_id for e in deleted) == sorted(str(d.pk) for d in doomed)
    assert {e.actor_username for e in deleted} == {"administrator"}
    assert audit_verify().ok
