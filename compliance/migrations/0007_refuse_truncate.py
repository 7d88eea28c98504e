"""On PostgreSQL, TRUNCATE of the audit trail and of clients is refused (tradingsite.records)."""

from django.db import migrations

from tradingsite.records import refuse_truncate_operations


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0006_kept_clients"),
    ]

    operations = refuse_truncate_operations(
        "compliance_auditevent",
        "compliance_auditcheckpoint",
        "compliance_auditchainhead",
        "compliance_client",
    )
