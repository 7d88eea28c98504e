"""The eight roles, as Django groups, and the permissions each one carries.

This table is the single source of truth. ``roles_sync`` makes the groups match it
exactly: a data migration runs it first, and it runs again after every ``migrate``
so that permissions of models added later are granted by the patterns below.
Edits made to these groups in the admin are therefore reset on the next migrate.

Patterns are matched against ``"app_label.codename"`` with shell-style wildcards:
``"*"`` is everything, ``"*.view_*"`` every read permission.
"""

from collections.abc import Iterable
from fnmatch import fnmatchcase

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions

ROLES: dict[str, dict] = {
    "Administrator": {
        "staff": True,
        "description": "Runs the firm's back office; holds every permission.",
        "grants": ["*"],
    },
    "Compliance Officer": {
        "staff": True,
        "description": "Works KYC/AML and surveillance, reads the audit trail, exports reports.",
        "grants": [
            "compliance.*",
            "orders.view_*",
            "risk.view_*",
            "marketdata.view_*",
            "strategies.view_*",
            "admin.view_logentry",
            "ops.access_dashboard",
            "ops.view_task_results",
        ],
    },
    "Risk Manager": {
        "staff": True,
        "description": "Sets limits (maker-checker), trips and resets kill switches.",
        "grants": [
            "risk.*",
            "orders.view_*",
            "orders.cancel_any_order",
            "marketdata.view_*",
            "strategies.view_*",
            "ops.access_dashboard",
            "ops.access_api",
        ],
    },
    "Trader": {
        "staff": False,
        "description": "Places, modifies and cancels orders on the accounts linked to them.",
        "grants": [
            "orders.place_order",
            "orders.modify_order",
            "orders.cancel_order",
            "risk.run_what_if",
            "marketdata.view_market_data",
            "strategies.view_strategies",
            "strategies.run_backtest",
            "ops.access_dashboard",
            "ops.access_api",
            "ops.manage_own_api_keys",
        ],
    },
    "Quant": {
        "staff": True,
        "description": "Researches strategies: runs backtests and walk-forwards, deploys and "
        "stops strategies on accounts under their algo IDs (their orders go through risk).",
        "grants": [
            "strategies.view_*",
            "strategies.run_backtest",
            "strategies.deploy_strategy",
            "marketdata.view_*",
            "orders.view_*",
            "risk.view_*",
            "ops.access_dashboard",
            "ops.access_api",
            "ops.view_task_results",
        ],
    },
    "Operations": {
        "staff": True,
        "description": "Deploys and monitors; rotates secrets; manages keys and schedules.",
        "grants": [
            "ops.*",
            "marketdata.*",
            "orders.reconcile_broker",
            "django_celery_beat.*",
            "django_celery_results.view_*",
            # Unlock a locked-out login; remove a lost authenticator so its owner re-enrols.
            "axes.view_*",
            "axes.delete_accessattempt",
            "otp_totp.view_totpdevice",
            "otp_totp.delete_totpdevice",
        ],
    },
    "Auditor": {
        "staff": True,
        "description": "Reads everything, verifies the audit trail and exports reports "
        "(an export is a read); changes nothing.",
        "grants": [
            "*.view_*",
            "compliance.verify_audit_trail",
            "compliance.export_regulatory_reports",
            "ops.access_dashboard",
        ],
    },
    "Client": {
        "staff": False,
        "description": "A client trading their own accounts; sees only their own data.",
        "grants": [
            "orders.place_order",
            "orders.modify_order",
            "orders.cancel_order",
            "marketdata.view_market_data",
            "strategies.view_strategies",
            "ops.access_dashboard",
            "ops.access_api",
            "ops.manage_own_api_keys",
        ],
    },
    "Algo Client": {
        "staff": False,
        "description": "A program trading through signed API requests; no web access.",
        "grants": [
            "orders.place_order",
            "orders.modify_order",
            "orders.cancel_order",
            "risk.run_what_if",
            "marketdata.view_market_data",
            "ops.access_api",
        ],
    },
}

#: Apps whose models carry the named (non-CRUD) permissions listed in docs/roles.md.
DOMAIN_APPS = ("orders", "risk", "compliance", "marketdata", "strategies", "ops")


def grants_match(grants: Iterable[str], perm: str) -> bool:
    return any(fnmatchcase(perm, pattern) for pattern in grants)


def named_permissions(apps=global_apps) -> list[tuple[str, str]]:
    """Every named permission of the domain apps as ``("app.codename", description)``."""
    found = []
    for label in DOMAIN_APPS:
        for model in apps.get_app_config(label).get_models():
            found += [(f"{label}.{code}", name) for code, name in model._meta.permissions]
    return found


def roles_sync(apps=global_apps, using: str = "default") -> None:
    """Create the role groups and set each one's permissions to exactly what ROLES grants.

    Permission rows are created first, because during ``migrate`` Django only
    creates them after every migration has run.
    """
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, apps=apps, verbosity=0, using=using)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    every = {
        f"{p.content_type.app_label}.{p.codename}": p.pk
        for p in Permission.objects.select_related("content_type")
    }
    for role, spec in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(
            [pk for perm, pk in every.items() if grants_match(spec["grants"], perm)]
        )


def roles_markdown() -> str:
    """docs/roles.md: the role x permission table, generated from ROLES."""
    roles = list(ROLES)
    lines = [
        "# Roles and permissions",
        "",
        "Generated from `ops/roles.py` by `python manage.py roles_table > docs/roles.md`;",
        "a test fails when this file and the code disagree.",
        "",
        "| role | staff (admin site) | what they do |",
        "|---|---|---|",
    ]
    lines += [
        f"| {r} | {'yes' if ROLES[r]['staff'] else 'no'} | {ROLES[r]['description']} |"
        for r in roles
    ]
    lines += ["", "## Named permissions", ""]
    lines.append("| permission | meaning | " + " | ".join(roles) + " |")
    lines.append("|---|---|" + "---|" * len(roles))
    for perm, name in named_permissions():
        marks = " | ".join("✓" if grants_match(ROLES[r]["grants"], perm) else "" for r in roles)
        lines.append(f"| `{perm}` | {name} | {marks} |")
    lines += [
        "",
        "## Model permissions",
        "",
        "Django's add/change/delete/view permissions of each model are granted by pattern,",
        "so models added later fall under the same rules:",
        "",
        "| role | patterns |",
        "|---|---|",
    ]
    lines += [f"| {r} | {', '.join(f'`{g}`' for g in ROLES[r]['grants'])} |" for r in roles]
    return "\n".join(lines) + "\n"
