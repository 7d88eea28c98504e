"""What an archive run recorded is fixed once written: its kind, month, storage, files,
manifest sha256, rows, key range, chain bounds and seal refuse UPDATE in the database, and
its status only moves forward (archived → released → purged). ``audit_verify`` starts a
released chain from the run's bounds, so a rewritten bound would hide a cut; the runtime
role cannot rewrite one (the trigger), nor drop the trigger (it does not own the table).
"""

from django.db import migrations

FIXED = ("kind", "month", "storage", "prefix", "manifest_name", "manifest_sha256", "rows",
         "key_first", "key_last", "bounds", "seal", "requested_by_id", "created_at")  # fmt: skip
FORWARD = "(OLD.status = 'archived' AND NEW.status IN ('released', 'purged')) OR " \
    "(OLD.status = 'released' AND NEW.status = 'purged')"  # fmt: skip
MESSAGE = "compliance_archiverun: what an archive run recorded is fixed: UPDATE refused"

POSTGRESQL = f"""
CREATE OR REPLACE FUNCTION compliance_archiverun_fixed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF ({", ".join(f"NEW.{c}" for c in FIXED)}) IS DISTINCT FROM
       ({", ".join(f"OLD.{c}" for c in FIXED)})
       OR (NEW.status <> OLD.status AND NOT ({FORWARD}))
    THEN
        RAISE EXCEPTION '{MESSAGE}'
            USING HINT = 'Archive runs change only by their release, restore and purge.';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER compliance_archiverun_fixed BEFORE UPDATE ON compliance_archiverun
FOR EACH ROW EXECUTE FUNCTION compliance_archiverun_fixed();
"""
SQLITE = f"""
CREATE TRIGGER compliance_archiverun_fixed BEFORE UPDATE ON compliance_archiverun
FOR EACH ROW WHEN {" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in FIXED)}
    OR (NEW.status <> OLD.status AND NOT ({FORWARD}))
BEGIN
    SELECT RAISE(ABORT, '{MESSAGE}');
END;
"""


def add(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor in ("postgresql", "sqlite"):
        schema_editor.execute(POSTGRESQL if vendor == "postgresql" else SQLITE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor in ("postgresql", "sqlite"):
        schema_editor.execute(
            "DROP TRIGGER IF EXISTS compliance_archiverun_fixed"
            + (
                " ON compliance_archiverun"
                if schema_editor.connection.vendor == "postgresql"
                else ""
            )
        )


class Migration(migrations.Migration):
    dependencies = [("compliance", "0019_retention")]

    operations = [migrations.RunPython(add, drop)]
