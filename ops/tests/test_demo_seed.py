"""demo_seed is idempotent and prints each password (and staff 2FA key) exactly once."""

import base64

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.test import RequestFactory

from ops.demo import DEMO_USERS
from ops.roles import ROLES

pytestmark = pytest.mark.django_db


def seed(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("demo_seed", *args, stdout=out)
    return out.getvalue()


def passwords(output: str) -> dict[str, str]:
    rows = [line.split() for line in output.splitlines() if line.startswith("  ")]
    return {row[0]: row[-1] for row in rows[1:] if row[-1] != "(unchanged)"}


def signs_in(username: str, password: str):
    # The lockout backend (django-axes) needs the request a sign-in comes with.
    return authenticate(
        RequestFactory().post("/admin/login/"), username=username, password=password
    )


def snapshot() -> list[tuple]:
    return list(
        get_user_model()
        .objects.order_by("username")
        .values_list("username", "password", "is_staff", "groups__name")
    )


def test_every_role_has_a_demo_user_who_can_sign_in():
    printed = passwords(seed())
    assert set(DEMO_USERS.values()) == set(ROLES)
    assert set(printed) == set(DEMO_USERS)
    for username, role in DEMO_USERS.items():
        user = signs_in(username, printed[username])
        assert user is not None, username
        assert list(user.groups.values_list("name", flat=True)) == [role]
        assert user.is_staff is ROLES[role]["staff"]


def test_second_run_changes_nothing_and_prints_no_password():
    seed()
    before = snapshot()
    output = seed()
    assert snapshot() == before
    assert passwords(output) == {}
    assert "already present" in output


def test_reset_passwords_issues_new_ones():
    first = passwords(seed())
    second = passwords(seed("--reset-passwords"))
    assert set(second) == set(first)
    assert all(first[u] != second[u] for u in first)
    assert signs_in("trader", second["trader"]) is not None


def test_demo_risk_limits_come_from_two_people():
    from risk.models import LimitChange, RiskLimit

    seed()
    seed()
    changes = LimitChange.objects.filter(reason="demo limits")
    assert changes.count() == 4
    assert {(c.proposed_by.username, c.decided_by.username, c.status) for c in changes} == {
        ("risk", "risk2", "approved")
    }
    assert RiskLimit.objects.filter(change__in=changes).count() == 4


def test_staff_get_an_authenticator_whose_key_is_printed_once():
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    rows = [line.split() for line in seed().splitlines() if line.startswith("  ")][1:]
    keys = {row[0]: row[-2] for row in rows}
    for username, role in DEMO_USERS.items():
        devices = TOTPDevice.objects.filter(user__username=username, confirmed=True)
        if not ROLES[role]["staff"]:
            assert (keys[username], devices.count()) == ("-", 0)
            continue
        [device] = devices
        printed = keys[username]
        assert printed == base64.b32encode(device.bin_key).decode().rstrip("=")
        # An authenticator app given the printed key computes the codes the server expects.
        app_key = base64.b32decode(printed + "=" * (-len(printed) % 8))
        assert device.verify_token(TOTP(app_key).token())
    assert "(unchanged)" in seed("--reset-passwords")  # a second run keeps the keys
    assert TOTPDevice.objects.count() == sum(ROLES[r]["staff"] for r in DEMO_USERS.values())


def test_totp_code_prints_a_code_the_device_accepts_and_refuses_production(settings):
    from io import StringIO

    from django.core.management.base import CommandError
    from django_otp.plugins.otp_totp.models import TOTPDevice

    seed()
    out = StringIO()
    call_command("totp_code", "admin", stdout=out)
    code = out.getvalue().split()[0]
    assert len(code) == 6
    assert TOTPDevice.objects.get(user__username="admin").verify_token(code)
    with pytest.raises(CommandError, match="no confirmed authenticator"):
        call_command("totp_code", "trader", stdout=StringIO())
    with pytest.raises(CommandError, match="no user called 'nobody'"):
        call_command("totp_code", "nobody", stdout=StringIO())
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="refuses to run with TRADINGSITE_ENV=production"):
        call_command("totp_code", "admin", stdout=StringIO())


def test_the_demo_checkpoints_its_audit_trail_once_per_change_of_the_chain(privileged_db):
    from io import StringIO

    from compliance import demo
    from compliance.models import AuditChain, AuditCheckpoint
    from compliance.services import audit_record
    from compliance.tests.conftest import sql_around_trigger

    def checkpoint_again() -> str:
        out = StringIO()
        demo.seed(stdout=out)
        return out.getvalue()

    first = seed()
    [checkpoint] = AuditCheckpoint.objects.all()
    heads = {c.key: [c.seq, c.hash] for c in AuditChain.objects.all()}
    assert heads  # the seeders audited their writes (limits, deposits...)
    assert checkpoint.heads == heads
    assert f"Audit checkpoint: {checkpoint}, the trail verified up to it" in first
    assert "next checkpoints: daily at 23:55 IST" in first

    again = seed()
    assert AuditCheckpoint.objects.count() == 1
    assert f"Audit checkpoint: already at {checkpoint} (trail unchanged)." in again

    event = audit_record(action="test.event")
    checkpoint_again()
    assert AuditCheckpoint.objects.count() == 2
    assert AuditCheckpoint.objects.latest().heads["firm"][0] == event.seq

    broken_event = audit_record(action="test.event")
    sql = "UPDATE compliance_auditevent SET action = 'x' WHERE chain = 'firm' AND seq = %s"
    with privileged_db.cursor() as cursor:  # tampered with behind the app's back
        sql_around_trigger(cursor, sql, [broken_event.seq])
    broken = checkpoint_again()  # a broken chain is reported, and the seed still finishes
    assert "Audit checkpoint: not made, the chain failed verification: " in broken
    assert f"BROKEN: chain firm at seq {broken_event.seq}" in broken
    assert AuditCheckpoint.objects.count() == 2


def test_the_demo_has_clients_in_every_kyc_state_and_one_waiting_for_a_checker():
    from compliance.kyc.choices import ApplicationStatus, KraStatus
    from compliance.kyc.models import KycApplication
    from compliance.kyc.services import kyc_approve
    from compliance.models import Client

    seed()
    seed()  # idempotent: no second set of applications
    assert set(KycApplication.objects.values_list("status", flat=True)) == set(ApplicationStatus)
    assert set(Client.objects.values_list("kyc_status", flat=True)) >= {
        "pending", "under_review", "kra_pending", "verified", "rejected",
    }  # fmt: skip
    assert KycApplication.objects.filter(kra_status=KraStatus.ON_HOLD).count() == 1
    assert all(c.can_trade for c in Client.objects.filter(accounts__isnull=False))
    waiting = KycApplication.objects.get(status=ApplicationStatus.VERIFIED)
    assert (waiting.name, waiting.verified_by.username) == ("Sumit Mehta", "compliance2")
    users = get_user_model().objects
    approved = kyc_approve(application=waiting, actor=users.get(username="compliance"))
    assert approved.risk_category == "high"  # a self-declared PEP
