"""On PostgreSQL, TRUNCATE of limit changes, kill switches and breaches is refused (tradingsite.records)."""

from django.db import migrations

from tradingsite.records import refuse_truncate_operations


class Migration(migrations.Migration):
    dependencies = [
        ("risk", "0005_kept_records_kill_switch_mode"),
    ]

    operations = refuse_truncate_operations(
        "risk_limitchange",
        "risk_killswitch",
        "risk_breach",
    )
