"""The audit chain's head row, and (on PostgreSQL) triggers that refuse UPDATE and DELETE.

TRUNCATE is refused by a statement trigger since 0007 (the test flush skips it in replica mode).
"""

from django.db import migrations

GENESIS_HASH = "0" * 64
TABLES = ("compliance_auditevent", "compliance_auditcheckpoint")

CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION compliance_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING HINT = 'The audit trail is never changed; record a new event instead.';
END
$$;
"""
CREATE_TRIGGER = """
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
FOR EACH ROW EXECUTE FUNCTION compliance_refuse_change();
"""
DROP_TRIGGER = "DROP TRIGGER IF EXISTS {table}_append_only ON {table};"
DROP_FUNCTION = "DROP FUNCTION IF EXISTS compliance_refuse_change();"


def create_head(apps, schema_editor):
    AuditChainHead = apps.get_model("compliance", "AuditChainHead")
    AuditChainHead.objects.using(schema_editor.connection.alias).get_or_create(
        pk=1, defaults={"seq": 0, "hash": GENESIS_HASH}
    )


def drop_head(apps, schema_editor):
    AuditChainHead = apps.get_model("compliance", "AuditChainHead")
    AuditChainHead.objects.using(schema_editor.connection.alias).filter(pk=1).delete()


def add_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE_FUNCTION, params=None)  # no %-interpolation
    for table in TABLES:
        schema_editor.execute(CREATE_TRIGGER.format(table=table))


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(DROP_TRIGGER.format(table=table))
    schema_editor.execute(DROP_FUNCTION)


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0003_accounts_ledger_orders"),
    ]

    operations = [
        migrations.RunPython(create_head, drop_head),
        migrations.RunPython(add_triggers, drop_triggers),
    ]
