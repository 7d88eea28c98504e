"""Data migration: the firm-wide default limits the issue and SEBI's algo framework set."""

from decimal import Decimal

from django.db import migrations

DEFAULTS = [
    (
        "order_rate_per_second",
        Decimal("10"),
    ),  # SEBI: unregistered algos stay at or below 10 orders/s
    ("max_risk_per_trade_pct", Decimal("2")),  # a stop order may risk at most 2 % of equity
]


def add_defaults(apps, schema_editor):
    RiskLimit = apps.get_model("risk", "RiskLimit")
    for kind, value in DEFAULTS:
        RiskLimit.objects.get_or_create(
            target="firm", kind=kind, defaults={"scope": "firm", "value": value}
        )


def remove_defaults(apps, schema_editor):
    apps.get_model("risk", "RiskLimit").objects.filter(target="firm", change=None).delete()


class Migration(migrations.Migration):
    dependencies = [("risk", "0002_limits_changes_kill_switches")]
    operations = [migrations.RunPython(add_defaults, remove_defaults)]
