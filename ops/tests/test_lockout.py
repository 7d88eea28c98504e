"""Lockout after repeated failed sign-ins (django-axes): per username and address, audited, with
a clear answer in the admin and on the API."""

import base64
import json
from datetime import UTC, datetime

import pytest
import time_machine
from axes.models import AccessAttempt
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from compliance.models import AuditEvent
from conftest import run_manage

pytestmark = pytest.mark.django_db
PASSWORD = "not-a-real-password-1"
ATTACKER, DESK, OFFICE = "192.168.7.66", "192.168.7.10", "10.1.2.3"


def admin_sign_in(client, username: str, password: str, address: str, code: str = "", agent=""):
    return client.post(
        "/admin/login/",
        {"username": username, "password": password, "otp_token": code},
        REMOTE_ADDR=address,
        HTTP_USER_AGENT=agent or "Mozilla/5.0",
    )


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@pytest.fixture
def clock():
    with time_machine.travel(datetime(2026, 11, 20, 5, 0, tzinfo=UTC), tick=False) as traveller:
        yield traveller


def test_five_wrong_passwords_lock_that_username_from_that_address(client, user_in_role, clock):
    user_in_role("Risk Manager")
    answers = [  # a new User-Agent each time does not reset the count
        admin_sign_in(client, "risk_manager", f"guess-{n}", ATTACKER, agent=f"bot/{n}")
        for n in range(5)
    ]

    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
    locked = answers[-1]
    assert locked["Retry-After"] == "1800"
    assert locked["Content-Type"].startswith("text/html")
    page = locked.content.decode()
    assert "Too many failed sign-ins for this username from your address" in page
    assert "locked for 30 minutes" in page
    # Even the right password is refused from there, and the wait starts again.
    clock.shift(60)
    assert admin_sign_in(client, "risk_manager", PASSWORD, ATTACKER).status_code == 429
    # The same user from their own desk, and other users from that address, are not affected.
    assert admin_sign_in(Client(), "risk_manager", PASSWORD, DESK).status_code == 302
    user_in_role("Auditor")
    assert admin_sign_in(Client(), "auditor", "guess", ATTACKER).status_code == 200

    failed = AuditEvent.objects.filter(action="auth.login_failed", after__username="risk_manager")
    assert failed.count() == 6
    [lockout] = AuditEvent.objects.filter(action="auth.locked_out")
    assert lockout.after == {"username": "risk_manager", "failures": 5}
    assert (lockout.source_ip, lockout.actor_username) == (ATTACKER, "system")
    trail = json.dumps(list(AuditEvent.objects.values("before", "after")))
    assert "guess-" not in trail
    assert PASSWORD not in trail
    for attempt in AccessAttempt.objects.filter(username="risk_manager", ip_address=ATTACKER):
        assert "guess-" not in attempt.post_data
        assert PASSWORD not in attempt.post_data

    clock.shift(31 * 60)  # the cool-off has passed
    assert admin_sign_in(client, "risk_manager", PASSWORD, ATTACKER).status_code == 302
    assert not AccessAttempt.objects.filter(username="risk_manager", ip_address=ATTACKER).exists()


def test_a_sign_in_clears_the_failures(client, user_in_role, clock):
    device = TOTPDevice.objects.create(user=user_in_role("Risk Manager"), confirmed=True)
    for _ in range(4):
        admin_sign_in(client, "risk_manager", "wrong-password", OFFICE)
    code = str(TOTP(device.bin_key).token()).zfill(6)
    assert admin_sign_in(client, "risk_manager", PASSWORD, OFFICE, code=code).status_code == 302
    client.post("/admin/logout/")
    for _ in range(4):
        assert admin_sign_in(client, "risk_manager", "wrong-password", OFFICE).status_code == 200
    assert not AuditEvent.objects.filter(action="auth.locked_out").exists()


def test_wrong_two_factor_codes_count_too(client, user_in_role, clock):
    user = user_in_role("Operations")
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    codes = []
    for _ in range(5):
        clock.shift(60)  # past django-otp's own slow-down between wrong codes
        codes.append(admin_sign_in(client, "operations", PASSWORD, ATTACKER, code="99999x"))
    assert [a.status_code for a in codes] == [200, 200, 200, 200, 429]
    [lockout] = AuditEvent.objects.filter(action="auth.locked_out")
    assert lockout.after == {"username": "operations", "failures": 5}
    assert AuditEvent.objects.filter(after__second_factor="totp").count() == 5


def test_the_api_answers_a_lockout_with_problem_json(api_client, user_in_role, clock):
    user_in_role("Trader")
    statuses = []
    for _ in range(5):
        api_client.credentials(HTTP_AUTHORIZATION=basic("trader", "not-my-password-9"))
        statuses.append(api_client.get("/api/v1/me", REMOTE_ADDR=ATTACKER))
    assert [r.status_code for r in statuses] == [401, 401, 401, 401, 429]
    locked = statuses[-1]
    assert locked["Content-Type"] == "application/problem+json"
    assert locked["Retry-After"] == "1800"
    body = locked.json()
    assert (body["type"], body["status"]) == ("/api/problems/locked-out", 429)
    assert "locked for 30 minutes" in body["detail"]
    api_client.credentials(HTTP_AUTHORIZATION=basic("trader", PASSWORD))
    assert api_client.get("/api/v1/me", REMOTE_ADDR=ATTACKER).status_code == 429
    assert api_client.get("/api/v1/me", REMOTE_ADDR=OFFICE).status_code == 200
    assert AuditEvent.objects.filter(action="auth.locked_out", source_ip=ATTACKER).count() == 1


def test_the_limit_and_cool_off_come_from_the_environment(client, user_in_role, settings, clock):
    import datetime as dt

    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=5)
    user_in_role("Trader")
    answers = [admin_sign_in(client, "trader", "wrong-password", OFFICE) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 429]
    assert answers[-1]["Retry-After"] == "300"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LOGIN_FAILURE_LIMIT", "0"),
        ("LOGIN_FAILURE_LIMIT", "five"),
        ("LOGIN_LOCKOUT_MINUTES", "-3"),
    ],
)
def test_a_bad_lockout_setting_stops_start_up(tmp_path, variable, value):
    done = run_manage("check", env={variable: value, "TRADINGSITE_DATA_DIR": str(tmp_path)})
    assert done.returncode != 0
    assert f"{variable} must be a whole number of at least 1, not {value!r}." in done.stderr


def test_an_administrator_unlocks_in_the_admin(client, user_in_role, otp_login, clock):
    user_in_role("Auditor")
    for _ in range(5):
        admin_sign_in(Client(), "auditor", "wrong-password", ATTACKER)
    assert admin_sign_in(Client(), "auditor", PASSWORD, ATTACKER).status_code == 429

    otp_login(client, user_in_role("Administrator"))
    listing = client.get("/admin/axes/accessattempt/")
    assert "auditor" in listing.content.decode()
    attempts = list(AccessAttempt.objects.filter(username="auditor").values_list("pk", flat=True))
    client.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": attempts, "post": "yes"},
    )
    assert admin_sign_in(Client(), "auditor", PASSWORD, ATTACKER).status_code == 302
    assert AuditEvent.objects.filter(
        action="admin.delete", object_type="axes.accessattempt"
    ).exists()


def test_a_trader_with_the_right_password_is_told_the_admin_is_for_staff(user_in_role, clock):
    user_in_role("Trader")
    for _ in range(2):
        admin_sign_in(Client(), "trader", "wrong-password", OFFICE)

    right = [admin_sign_in(Client(), "trader", PASSWORD, OFFICE) for _ in range(6)]
    page = right[0].content.decode()

    assert [r.status_code for r in right] == [200] * 6  # never signed in, never locked out
    assert "The back-office admin is for staff." in page
    assert 'href="/api/v1/"' in page
    assert 'href="/api/docs/"' in page
    assert "signed API keys" in page
    assert "correct username and password" not in page
    # As today: a right password of a non-staff user is no failure (and clears none).
    [attempt] = AccessAttempt.objects.filter(username="trader", ip_address=OFFICE)
    assert attempt.failures_since_start == 2
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 2


def test_a_wrong_password_reveals_nothing_about_staff(user_in_role, django_user_model, clock):
    user_in_role("Trader")
    retired = user_in_role("Client", username="retired")
    retired.is_active = False
    retired.save()
    answers = [
        admin_sign_in(Client(), "trader", "wrong-password", OFFICE),
        admin_sign_in(Client(), "nobody", PASSWORD, OFFICE),
        admin_sign_in(Client(), "retired", PASSWORD, OFFICE),  # right password, inactive
    ]
    for answer in answers:
        page = answer.content.decode()
        assert "Please enter the correct username and password for a staff account" in page
        assert "for staff." not in page
        assert "/api/docs/" not in page
