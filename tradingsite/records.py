"""Kept records: control and trading records that no path may delete.

Orders, fills, ledger entries, positions, holdings, kill switches, limit changes, breaches,
API keys, clients and trading accounts are the firm's books and its controls. They change
only through their services (a kill switch is reset, an API key is revoked, an account is
closed) and are never deleted, whoever asks:

- ``KeptRecord.delete()`` and ``KeptQuerySet.delete()`` raise :class:`RecordNotDeletable`
  (the shell, management commands and any code);
- every foreign key *from* a kept record is ``PROTECT``, so deleting a parent (a user, an
  instrument, a desk) cannot cascade into one;
- the admin site refuses deletion of a kept record whatever its ModelAdmin says
  (``ops.admin_site.BackOfficeAdminSite.register``);
- on PostgreSQL a trigger refuses ``DELETE`` on their tables, so not even raw SQL from the
  application's connection removes one (:func:`refuse_delete_operations` in migrations);
- on PostgreSQL a statement trigger refuses ``TRUNCATE`` of them and of the audit trail,
  whoever asks, the schema owner included (:func:`refuse_truncate_operations`). Only a
  session in ``session_replication_role = replica``, which only a superuser may set, skips
  it: the test suite's flush does that (``conftest.py``), the application's roles cannot
  (docs/database-roles.md).

The tests in ``tradingsite/tests/test_kept_records.py`` walk every admin and API route.
"""

from django.db import migrations, models


class RecordNotDeletable(RuntimeError):
    """Raised when code tries to delete a kept record."""

    def __init__(self, model: type[models.Model]) -> None:
        super().__init__(
            f"{model._meta.verbose_name_plural} are kept records and are never deleted; "
            "use their service instead (cancel, reset, revoke, close)."
        )


class KeptQuerySet(models.QuerySet):
    """A queryset whose bulk delete is refused."""

    def delete(self):
        raise RecordNotDeletable(self.model)

    delete.queryset_only = True


class KeptRecord(models.Model):
    """A record that is changed only through its services and never deleted."""

    objects = KeptQuerySet.as_manager()

    class Meta:
        abstract = True

    def delete(self, *args, **kwargs):
        raise RecordNotDeletable(type(self))


def is_kept(model: type[models.Model]) -> bool:
    """Whether rows of ``model`` may never be deleted (kept records and the audit trail)."""
    from compliance.models import AppendOnlyModel

    return issubclass(model, KeptRecord | AppendOnlyModel)


REFUSE_DELETE_FUNCTION = """
CREATE OR REPLACE FUNCTION tradingsite_refuse_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are kept records: DELETE refused', TG_TABLE_NAME
        USING HINT = 'Use the service (cancel, reset, revoke, close); records are never deleted.';
END
$$;
"""
REFUSE_DELETE_TRIGGER = """
CREATE TRIGGER {table}_kept BEFORE DELETE ON {table}
FOR EACH ROW EXECUTE FUNCTION tradingsite_refuse_delete();
"""


def refuse_delete_operations(*tables: str) -> list[migrations.RunPython]:
    """Migration operations adding (PostgreSQL only) the trigger that refuses DELETE."""
    return _trigger_operations(REFUSE_DELETE_FUNCTION, REFUSE_DELETE_TRIGGER, "_kept", tables)


#: The one way out of the online tables for a kept record: an archive's release
#: (``compliance.retention.release``) of rows already archived and verified. The DELETE
#: must run as the table's owner AND in a session that set ``tradingsite.archive_release``;
#: the runtime role is refused even with the flag.
RELEASABLE_DELETE_FUNCTION = """
CREATE OR REPLACE FUNCTION tradingsite_refuse_delete_unless_released() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('tradingsite.archive_release', true), '') = 'on'
       AND current_user = (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = TG_RELID)
    THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% rows are kept records: DELETE refused', TG_TABLE_NAME
        USING HINT = 'Only an archive''s release, as the owner, takes rows out of the books.';
END
$$;
"""
RELEASABLE_DELETE_TRIGGER = """
DROP TRIGGER IF EXISTS {table}_kept ON {table};
CREATE TRIGGER {table}_kept BEFORE DELETE ON {table}
FOR EACH ROW EXECUTE FUNCTION tradingsite_refuse_delete_unless_released();
"""


def releasable_delete_operations(*tables: str) -> list[migrations.RunPython]:
    """Migration operations (PostgreSQL only) letting an archive's release, and nothing
    else, delete rows of these kept tables; reversed, the tables refuse every DELETE again."""
    add = _trigger_operations(
        RELEASABLE_DELETE_FUNCTION, RELEASABLE_DELETE_TRIGGER, "_kept", tables
    )[0]

    def back(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in tables:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_kept ON {table};")
            schema_editor.execute(REFUSE_DELETE_TRIGGER.format(table=table))

    return [migrations.RunPython(add.code, back)]


REFUSE_TRUNCATE_FUNCTION = """
CREATE OR REPLACE FUNCTION tradingsite_refuse_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is never truncated: TRUNCATE refused', TG_TABLE_NAME
        USING HINT = 'Kept records and the audit trail are never emptied, not even by their owner.';
END
$$;
"""
REFUSE_TRUNCATE_TRIGGER = """
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
FOR EACH STATEMENT EXECUTE FUNCTION tradingsite_refuse_truncate();
"""


def refuse_truncate_operations(*tables: str) -> list[migrations.RunPython]:
    """Migration operations adding (PostgreSQL only) the trigger that refuses TRUNCATE.

    A ``BEFORE DELETE`` row trigger does not fire on ``TRUNCATE``, so kept records and the
    audit trail need this statement trigger as well. It fires for the table's owner too.
    """
    return _trigger_operations(
        REFUSE_TRUNCATE_FUNCTION, REFUSE_TRUNCATE_TRIGGER, "_no_truncate", tables
    )


def _trigger_operations(
    function: str, trigger: str, suffix: str, tables: tuple[str, ...]
) -> list[migrations.RunPython]:
    """One RunPython that creates (or replaces) ``function`` and adds ``trigger`` (formatted
    with ``table``, named ``<table><suffix>``) to each table; reversed, it drops the
    triggers. PostgreSQL only: elsewhere both directions do nothing."""

    def add(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(function, params=None)  # no parameters: its % are literal
        for table in tables:
            schema_editor.execute(trigger.format(table=table))

    def drop(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in tables:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}{suffix} ON {table};")

    return [migrations.RunPython(add, drop)]
