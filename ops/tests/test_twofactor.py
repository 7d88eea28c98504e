"""TOTP two-factor sign-in for staff: the admin asks for the code, staff without an authenticator
set one up first, and a staff session without a code gets nowhere else."""

import re
from base64 import b32decode
from datetime import UTC, datetime

import pytest
import time_machine
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from compliance.models import AuditEvent

pytestmark = pytest.mark.django_db
PASSWORD = "not-a-real-password-1"
START = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)  # 10:30 IST, far from the daily logout


def code_of(device: TOTPDevice) -> str:
    return str(TOTP(device.bin_key, digits=device.digits).token()).zfill(device.digits)


def sign_in(client, username: str, code: str = "", **extra):
    form = {"username": username, "password": PASSWORD, "otp_token": code, **extra}
    return client.post("/admin/login/?next=/admin/", form)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def risk_manager(user_in_role):
    user = user_in_role("Risk Manager")
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user


def test_staff_sign_in_with_password_and_the_current_code(client, risk_manager, clock):
    device = TOTPDevice.objects.get(user=risk_manager)

    no_code = sign_in(client, "risk_manager")
    assert no_code.status_code == 200
    assert "Enter the 6-digit code from your authenticator app." in no_code.content.decode()

    wrong = sign_in(client, "risk_manager", "000000" if code_of(device) != "000000" else "111111")
    assert "That code is wrong or has expired" in wrong.content.decode()
    assert client.get("/admin/").status_code == 302  # still signed out

    clock.shift(10)  # django-otp slows down guessing: 1 s after one wrong code
    right = sign_in(client, "risk_manager", code_of(device))
    assert (right.status_code, right["Location"]) == (302, "/admin/")
    assert client.get("/admin/").status_code == 200

    [failed] = AuditEvent.objects.filter(action="auth.login_failed")
    assert failed.after == {"username": "risk_manager", "second_factor": "totp"}
    [login] = AuditEvent.objects.filter(action="auth.login")
    assert (login.actor_username, login.after) == ("risk_manager", {"second_factor": "totp"})


def test_a_used_code_cannot_be_replayed(client, risk_manager, clock):
    device = TOTPDevice.objects.get(user=risk_manager)
    code = code_of(device)
    assert sign_in(client, "risk_manager", code).status_code == 302
    client.post("/admin/logout/")
    again = sign_in(client, "risk_manager", code)
    assert "That code is wrong or has expired" in again.content.decode()


def test_with_several_authenticators_the_user_picks_one(client, risk_manager, clock):
    spare = TOTPDevice.objects.create(user=risk_manager, name="spare", confirmed=True)
    page = sign_in(client, "risk_manager", code_of(spare))
    assert "Choose which authenticator to use." in page.content.decode()
    assert 'name="otp_device"' in page.content.decode()
    chosen = sign_in(client, "risk_manager", code_of(spare), otp_device=spare.persistent_id)
    assert chosen.status_code == 302


def test_staff_without_an_authenticator_set_one_up_after_the_password(client, user_in_role, clock):
    officer = user_in_role("Compliance Officer")

    signed = sign_in(client, "compliance_officer")
    assert signed["Location"] == "/admin/2fa/enrol/?next=/admin/"
    # Half signed in: the admin and the API refuse the session until it has a code.
    assert client.get("/admin/compliance/client/")["Location"].startswith("/admin/login/")
    assert client.get("/admin/login/")["Location"].startswith("/admin/2fa/enrol/")
    api = client.get("/api/v1/me")
    assert (api.status_code, api.json()["type"]) == (403, "/api/problems/two-factor-required")
    assert api["Content-Type"] == "application/problem+json"

    page = client.get(signed["Location"])
    html = page.content.decode()
    [draft] = TOTPDevice.objects.filter(user=officer)
    assert draft.confirmed is False
    key = re.search(r'<code id="totp-key" class="totp-key">([A-Z2-7]+)</code>', html).group(1)
    assert b32decode(key + "=" * (-len(key) % 8)) == draft.bin_key
    assert "otpauth://totp/TradingSite%3Acompliance_officer?secret=" in html
    assert "<svg" in html  # the QR code, drawn inline: no script, no image service
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []  # no inline script (CSP)
    assert (
        f'<code id="totp-key" class="totp-key">{key}</code>'
        in client.get(signed["Location"]).content.decode()
    )  # the same key on reload: the app already scanned it

    bad = client.post(signed["Location"], {"code": "12345"})
    assert "Ensure this value has at least 6 characters" in bad.content.decode()
    wrong = "000000" if code_of(draft) != "000000" else "111111"
    bad = client.post(signed["Location"], {"code": wrong, "next": "/admin/"})
    assert "That code does not match" in bad.content.decode()

    clock.shift(10)
    done = client.post(signed["Location"], {"code": code_of(draft), "next": "/admin/"})
    assert (done.status_code, done["Location"]) == (302, "/admin/")
    draft.refresh_from_db()
    assert draft.confirmed is True
    assert client.get("/admin/compliance/client/").status_code == 200
    assert client.get("/api/v1/me").status_code == 200
    [enrolled] = AuditEvent.objects.filter(action="auth.totp_enrolled")
    assert (enrolled.actor_username, enrolled.after["device_id"]) == (
        "compliance_officer",
        draft.pk,
    )

    # Enrolled now: the next sign-in asks for the code, and enrolling again is not possible.
    client.post("/admin/logout/")
    assert "Enter the 6-digit code" in sign_in(client, "compliance_officer").content.decode()


def test_enrolment_is_only_for_staff_who_signed_in(client, user_in_role, otp_login):
    assert client.get("/admin/2fa/enrol/")["Location"].startswith("/admin/login/")
    client.force_login(user_in_role("Trader"))
    assert client.get("/admin/2fa/enrol/")["Location"].startswith("/admin/login/")
    otp_login(client, user_in_role("Auditor"))  # enrolled and verified already
    assert client.get("/admin/2fa/enrol/?next=/admin/")["Location"] == "/admin/"
    assert TOTPDevice.objects.filter(confirmed=False).count() == 0


def test_a_staff_session_with_a_device_but_no_code_must_sign_in_again(client, risk_manager):
    client.force_login(risk_manager)  # e.g. a session from before the device was added
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    assert client.get("/admin/2fa/enrol/")["Location"].startswith("/admin/login/")
    assert client.get("/api/v1/me").status_code == 403


def test_non_staff_api_users_need_no_second_factor(client, user_in_role):
    client.force_login(user_in_role("Trader"))
    me = client.get("/api/v1/me")
    assert (me.status_code, me.json()["username"]) == (200, "trader")


def test_a_half_signed_in_staff_user_can_sign_out(client, user_in_role):
    user_in_role("Operations")
    sign_in(client, "operations")
    out = client.post("/admin/logout/")
    assert out.status_code == 200
    assert out["Clear-Site-Data"] == '"cookies", "storage"'
    assert client.get("/api/v1/me").status_code == 401
    assert AuditEvent.objects.filter(action="auth.logout", actor_username="operations").exists()
