"""demo_seed is idempotent and prints each password exactly once."""

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command

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
        user = authenticate(username=username, password=printed[username])
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
    assert authenticate(username="trader", password=second["trader"]) is not None


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
