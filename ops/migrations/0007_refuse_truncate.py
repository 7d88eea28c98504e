"""On PostgreSQL, TRUNCATE of API keys is refused (tradingsite.records)."""

from django.db import migrations

from tradingsite.records import refuse_truncate_operations


class Migration(migrations.Migration):
    dependencies = [
        ("ops", "0006_kept_api_keys"),
    ]

    operations = refuse_truncate_operations(
        "ops_apikey",
    )
