"""SEBI's daily logout: a session that began before the latest cutoff (IST) ends on its next
request, audited; tested around the boundary by moving the clock, never by waiting."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from compliance.models import AuditEvent
from conftest import run_manage
from ops.daily_logout import (
    SIGNED_IN_AT,
    daily_logout_last,
    daily_logout_next,
    started_before_daily_logout,
)

pytestmark = pytest.mark.django_db
IST = ZoneInfo("Asia/Kolkata")


def ist(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=IST)


@pytest.fixture(autouse=True)
def _cutoff_at_three(settings):
    settings.SESSION_DAILY_LOGOUT_IST = time(3, 0)


def test_the_latest_and_next_cutoffs_around_the_boundary():
    assert daily_logout_last(ist(20, 2, 59, 59)) == ist(19, 3)
    assert daily_logout_last(ist(20, 3)) == ist(20, 3)
    assert daily_logout_last(ist(20, 23, 59)) == ist(20, 3)
    assert daily_logout_next(ist(20, 2, 59, 59)) == ist(20, 3)
    assert daily_logout_next(ist(20, 3)) == ist(21, 3)
    # Whatever the caller's time zone: 21:29:59 UTC is 02:59:59 IST.
    assert daily_logout_last(ist(20, 2, 59, 59).astimezone(ZoneInfo("UTC"))) == ist(19, 3)
    assert started_before_daily_logout(ist(20, 2, 59, 59), now=ist(20, 3))
    assert not started_before_daily_logout(ist(20, 3), now=ist(21, 2, 59, 59))


def test_a_session_ends_at_the_cutoff_and_the_end_is_audited(client, user_in_role, otp_login):
    with time_machine.travel(ist(20, 14, 30), tick=False) as clock:
        otp_login(client, user_in_role("Risk Manager"))
        # The session is stamped at sign-in, and the store drops it a day after the cutoff.
        assert client.session.get_expiry_date() == ist(22, 3)
        clock.move_to(ist(21, 2, 59, 59))
        assert client.get("/admin/").status_code == 200
        assert not AuditEvent.objects.filter(action="auth.daily_logout").exists()

        clock.move_to(ist(21, 3))
        ended = client.get("/admin/", follow=True)
        assert ended.redirect_chain[0][0].startswith("/admin/login/")
        assert (
            "Your session ended at the daily logout (03:00 IST, 21 Nov 2026); sign in again."
            in ended.content.decode()
        )
        assert client.get("/admin/").status_code == 302  # and it stays ended

    [event] = AuditEvent.objects.filter(action="auth.daily_logout")
    assert event.actor_username == "risk_manager"
    assert event.after == {
        "signed_in_at": ist(20, 14, 30).astimezone(ZoneInfo("UTC")).isoformat(),
        "cutoff": ist(21, 3).isoformat(),
    }
    assert AuditEvent.objects.filter(action="auth.logout", actor_username="risk_manager").exists()


def test_a_session_begun_at_the_cutoff_lasts_until_the_next_one(client, user_in_role, otp_login):
    with time_machine.travel(ist(20, 3), tick=False) as clock:
        otp_login(client, user_in_role("Auditor"))
        clock.move_to(ist(21, 2, 59, 59))
        assert client.get("/admin/").status_code == 200
        clock.move_to(ist(21, 3, 0, 1))
        assert client.get("/admin/").status_code == 302


def test_the_api_answers_an_ended_session_with_problem_json(client, user_in_role):
    with time_machine.travel(ist(20, 9, 15), tick=False) as clock:
        client.force_login(user_in_role("Trader"))
        assert client.get("/api/v1/me").status_code == 200
        clock.move_to(ist(21, 8, 0))
        response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.has_header("WWW-Authenticate")
    body = response.json()
    assert body["type"] == "/api/problems/session-expired"
    assert "daily logout (03:00 IST, 21 Nov 2026)" in body["detail"]
    assert AuditEvent.objects.filter(action="auth.daily_logout", actor_username="trader").exists()


def test_a_session_without_a_sign_in_time_is_ended(client, user_in_role):
    client.force_login(user_in_role("Trader"))
    session = client.session
    del session[SIGNED_IN_AT]  # e.g. a session from before the daily logout existed
    session.save()
    assert client.get("/api/v1/me").status_code == 401
    [event] = AuditEvent.objects.filter(action="auth.daily_logout")
    assert event.after["signed_in_at"] is None


def test_the_cutoff_time_is_configurable(client, user_in_role, settings):
    settings.SESSION_DAILY_LOGOUT_IST = time(23, 30)
    with time_machine.travel(ist(20, 23, 29), tick=False) as clock:
        client.force_login(user_in_role("Trader"))
        clock.shift(timedelta(minutes=1))
        assert client.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("value", ["3am", "3:00", "24:00", "03:60", "03:00:00", ""])
def test_a_malformed_cutoff_stops_start_up_naming_the_variable(tmp_path, value):
    done = run_manage(
        "check", env={"SESSION_DAILY_LOGOUT_IST": value, "TRADINGSITE_DATA_DIR": str(tmp_path)}
    )
    assert done.returncode != 0
    assert (
        f"SESSION_DAILY_LOGOUT_IST must be a 24-hour time of day HH:MM (IST), e.g. 03:00, "
        f"not {value!r}." in done.stderr
    )


def test_a_well_formed_cutoff_is_accepted(tmp_path):
    done = run_manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; print(settings.SESSION_DAILY_LOGOUT_IST)",
        env={"SESSION_DAILY_LOGOUT_IST": "05:45", "TRADINGSITE_DATA_DIR": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "05:45:00"
