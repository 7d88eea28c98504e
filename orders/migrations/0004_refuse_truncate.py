"""On PostgreSQL, TRUNCATE of the kept trading records is refused (tradingsite.records)."""

from django.db import migrations

from tradingsite.records import refuse_truncate_operations


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0003_kept_records_position_charges"),
    ]

    operations = refuse_truncate_operations(
        "orders_tradingaccount",
        "orders_ledgerentry",
        "orders_order",
        "orders_fill",
        "orders_position",
        "orders_holding",
        "orders_orderoutbox",
    )
