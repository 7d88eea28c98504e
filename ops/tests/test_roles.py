"""The eight roles exist after migrate, with exactly the permissions ops.roles grants."""

from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from ops.roles import ROLES, grants_match, named_permissions, roles_markdown, roles_sync

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parents[2] / "docs" / "roles.md"


def perms_of(role: str) -> set[str]:
    return {
        f"{app}.{code}"
        for app, code in Group.objects.get(name=role).permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


def test_nine_roles_exist_after_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= {
        "Administrator", "Compliance Officer", "Risk Manager", "Trader", "Quant",
        "Operations", "Auditor", "Client", "Algo Client",
    }  # fmt: skip


def test_at_least_25_named_permissions_exist_in_the_database():
    named = {perm for perm, _ in named_permissions()}
    assert len(named) >= 25
    stored = {
        f"{app}.{code}"
        for app, code in Permission.objects.values_list("content_type__app_label", "codename")
    }
    assert named <= stored


def test_administrator_holds_every_permission():
    assert Group.objects.get(name="Administrator").permissions.count() == Permission.objects.count()


def test_auditor_can_read_everything_and_change_nothing():
    perms = perms_of("Auditor")
    every_view = set(
        Permission.objects.filter(codename__startswith="view_").values_list("codename", flat=True)
    )
    assert every_view <= {p.split(".")[1] for p in perms}
    writes = [p for p in perms if p.split(".")[1].startswith(("add_", "change_", "delete_"))]
    assert writes == []
    assert "orders.place_order" not in perms
    assert "compliance.verify_audit_trail" in perms
    # An export is a read: auditors run and download them, but schedule none (a change).
    assert "compliance.export_regulatory_reports" in perms
    assert "compliance.schedule_report_exports" not in perms
    officer = perms_of("Compliance Officer")
    assert {"compliance.export_regulatory_reports", "compliance.schedule_report_exports"} <= officer


def test_separation_of_duties():
    trader, algo = perms_of("Trader"), perms_of("Algo Client")
    assert "orders.place_order" in trader
    assert "risk.approve_limit_change" not in trader
    assert "ops.access_dashboard" not in algo  # API only
    assert "ops.access_api" in algo
    assert "risk.reset_kill_switch" in perms_of("Risk Manager")
    assert "orders.place_order" not in perms_of("Compliance Officer")
    assert "ops.rotate_secrets" in perms_of("Operations")
    assert "ops.rotate_secrets" not in perms_of("Risk Manager")


def test_every_group_matches_the_table_exactly():
    every = {
        f"{app}.{code}"
        for app, code in Permission.objects.values_list("content_type__app_label", "codename")
    }
    for role, spec in ROLES.items():
        assert perms_of(role) == {p for p in every if grants_match(spec["grants"], p)}, role


def test_sync_undoes_hand_edits_and_restores_deleted_groups():
    Group.objects.get(name="Trader").permissions.add(
        Permission.objects.get(codename="approve_limit_change")
    )
    Group.objects.filter(name="Auditor").delete()
    roles_sync()
    assert "risk.approve_limit_change" not in perms_of("Trader")
    assert Group.objects.filter(name="Auditor").exists()


def test_user_in_role_gets_the_role_permissions(user_in_role):
    trader = user_in_role("Trader")
    assert trader.has_perm("orders.place_order")
    assert not trader.has_perm("risk.trip_kill_switch")


def test_docs_table_is_current():
    assert DOCS.read_text() == roles_markdown(), "run: python manage.py roles_table > docs/roles.md"


def test_roles_table_command_prints_the_docs(capsys):
    call_command("roles_table")
    assert capsys.readouterr().out == roles_markdown()
