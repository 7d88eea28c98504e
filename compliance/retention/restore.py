"""``archive_restore``: a verified archive reloaded into a read-only copy, and queried.

Every checksum and the audit chain across the archive's boundaries are verified first
(``archive_verify``). The rows are then loaded, each table under a name of its own, where
the application can read them and not change them:

- **PostgreSQL**: schema ``archive_restore`` (made by ``db_roles``, owned by the schema
  owner), table ``<table>_run<id>`` created ``LIKE`` the online table (no triggers, no
  constraints but NOT NULL), loaded through the owner's connection
  (``release.owner_connection``, with ``DATABASE_MIGRATION_URL``) and granted to the runtime
  role for SELECT only. Without ``DATABASE_MIGRATION_URL`` (one login for everything,
  development) the app's own login loads it and owns it: read-only is then not enforced.
- **SQLite**: a file of its own under ``ARCHIVE_RESTORE_ROOT``
  (``<kind>-<YYYY-MM>-run<id>.sqlite3``), made read-only on disk and opened only with
  ``mode=ro``.

``restored_table(run, model)`` names the restored table for SQL on this profile;
``restored_query`` runs SQL over the copy and ``restored_rows`` gives the rows as the ORM's
``values()`` would. Encrypted text (a KYC application's PAN) is restored as the ciphertext the
online table holds; ``restored_rows`` decrypts it, as the ORM does.
"""

import datetime as dt
import json
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection, models, transaction
from django.utils import timezone

from compliance.retention.errors import ArchiveRefused
from compliance.retention.models import ArchiveRun, ArchiveStatus
from compliance.retention.release import owner_connection
from compliance.retention.tables import TABLES, columns, decrypted
from compliance.retention.verify import archive_verify, archived_rows, manifest_read
from compliance.services import audit_record

ARCHIVE_PERMISSION = "compliance.archive_records"
BATCH = 5000
RESTORE_SCHEMA = "archive_restore"  # ops.db_roles.RESTORE_SCHEMA makes it


def restore_path(run: ArchiveRun) -> Path:
    root = Path(settings.ARCHIVE_RESTORE_ROOT)
    return root / f"{run.kind}-{run.month:%Y-%m}-run{run.pk}.sqlite3"


def _sqlite_type(field: models.Field) -> str:
    if isinstance(field, models.IntegerField | models.AutoField | models.ForeignKey):
        return "INTEGER"
    if isinstance(field, models.BooleanField):
        return "INTEGER"
    return "TEXT"  # text, JSON text, ISO dates and times, Decimals as exact text


def _to_sqlite(field: models.Field, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(field, models.JSONField):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.date | Decimal):
        return str(value)
    return value


def _from_sqlite(field: models.Field, value: Any) -> Any:
    """A restored cell as the ORM reads it (SQLite gives text; PostgreSQL typed values)."""
    if value is None:
        return None
    if isinstance(field, models.JSONField):
        return json.loads(value) if isinstance(value, str) else value
    if isinstance(field, models.DateTimeField | models.DateField | models.DecimalField):
        return field.to_python(value)
    return decrypted(field, value)  # encrypted text is restored as its ciphertext


def archive_restore(*, run: ArchiveRun, actor: AbstractBaseUser) -> Path | str:
    """Verify ``run``'s archive and load it into its read-only copy; return where it is
    (the SQLite file, or the PostgreSQL tables)."""
    if not actor.is_active or not actor.has_perm(ARCHIVE_PERMISSION):
        raise ArchiveRefused(f"{actor.get_username()} may not restore an archive")
    if run.status == ArchiveStatus.PURGED:
        raise ArchiveRefused(f"archive run {run.pk} was purged after its retention")
    archive_verify(run=run)
    manifest = manifest_read(run)
    if connection.vendor == "postgresql":
        where: Path | str = _restore_postgresql(run, manifest)
    else:
        where = _restore_sqlite(run, manifest)
    with transaction.atomic():
        locked = ArchiveRun.objects.select_for_update(of=("self",)).get(pk=run.pk)
        locked.restored_at, locked.restored_to = timezone.now(), str(where)
        locked.save(update_fields=["restored_at", "restored_to"])
        audit_record(action="archive.restored", obj=locked, actor=actor,
                     after={"restored_to": str(where)})  # fmt: skip
    run.restored_at, run.restored_to = locked.restored_at, locked.restored_to
    return where


def _table(run: ArchiveRun, name: str):
    return next(t for t in TABLES[run.kind] if t.name == name)


def _restore_sqlite(run: ArchiveRun, manifest: dict) -> Path:
    path = restore_path(run)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)
        path.unlink()
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    db = sqlite3.connect(partial)
    try:
        with db:
            for entry in manifest["files"]:
                table = _table(run, entry["table"])
                fields = columns(table.model)
                names = ", ".join(f'"{f.attname}" {_sqlite_type(f)}' for f in fields)
                db.execute(f'CREATE TABLE "{table.name}" ({names})')
                marks = ", ".join("?" for _ in fields)
                insert = f'INSERT INTO "{table.name}" VALUES ({marks})'  # noqa: S608 - our names
                rows = (
                    tuple(_to_sqlite(f, row[f.attname]) for f in fields)
                    for row in archived_rows(run, entry)
                )
                while chunk := [row for _, row in zip(range(BATCH), rows, strict=False)]:
                    db.executemany(insert, chunk)
    finally:
        db.close()
    partial.rename(path)
    path.chmod(stat.S_IRUSR | stat.S_IRGRP)
    return path


@contextmanager
def _owner_cursor() -> Iterator:
    """A cursor as the schema owner, in a transaction committed on leaving."""
    if settings.DATABASE_MIGRATION_URL:
        with owner_connection() as link, link, link.cursor() as cursor:
            yield cursor
        return
    with transaction.atomic(), connection.cursor() as cursor:
        yield cursor


def _restore_postgresql(run: ArchiveRun, manifest: dict) -> str:
    from psycopg2 import sql
    from psycopg2.extras import execute_values

    made = []
    with _owner_cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [RESTORE_SCHEMA])
        if cursor.fetchone() is None:
            raise ArchiveRefused(
                f"schema {RESTORE_SCHEMA} is missing: run `manage.py db_roles` (it makes it)"
            )
        for entry in manifest["files"]:
            table = _table(run, entry["table"])
            fields = columns(table.model)
            target = sql.Identifier(RESTORE_SCHEMA, f"{table.name}_run{run.pk}")
            cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(target))
            cursor.execute(
                sql.SQL("CREATE TABLE {} (LIKE {})").format(target, sql.Identifier(table.name))
            )
            insert = sql.SQL("INSERT INTO {} ({}) VALUES %s").format(
                target, sql.SQL(", ").join(sql.Identifier(f.column) for f in fields)
            )
            rows = (
                tuple(_to_postgresql(f, row[f.attname]) for f in fields)
                for row in archived_rows(run, entry)
            )
            while chunk := [row for _, row in zip(range(BATCH), rows, strict=False)]:
                execute_values(cursor, insert.as_string(cursor), chunk, page_size=1000)
            cursor.execute(sql.SQL("REVOKE ALL ON {} FROM PUBLIC").format(target))
            runtime = settings.DATABASE_RUNTIME_USER
            if runtime and runtime != _current_user(cursor):
                cursor.execute(
                    sql.SQL("GRANT SELECT ON {} TO {}").format(target, sql.Identifier(runtime))
                )
            made.append(f"{RESTORE_SCHEMA}.{table.name}_run{run.pk}")
    return ", ".join(made)


def _current_user(cursor) -> str:
    cursor.execute("SELECT current_user")
    return cursor.fetchone()[0]


def _to_postgresql(field: models.Field, value: Any) -> Any:
    if value is not None and isinstance(field, models.JSONField):
        return json.dumps(value, ensure_ascii=False)
    return value


def restored_table(run: ArchiveRun, model: type[models.Model]) -> str:
    """The restored copy of ``model``'s table, as SQL names it on this profile."""
    name = model._meta.db_table
    if connection.vendor == "postgresql":
        return f'{RESTORE_SCHEMA}."{name}_run{run.pk}"'
    return f'"{name}"'


def _open(run: ArchiveRun) -> sqlite3.Connection:
    path = restore_path(run)
    if not path.exists():
        raise ArchiveRefused(f"archive run {run.pk} is not restored: run archive_restore first")
    return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)


def restored_query(run: ArchiveRun, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of a read-only ``sql`` query over ``run``'s restored copy (name its tables with
    :func:`restored_table`)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    with _open(run) as db:
        return db.execute(sql, params).fetchall()


def restored_rows(run: ArchiveRun, model: type[models.Model]) -> list[dict]:
    """Every restored row of ``model``'s table, in key order, as the ORM's ``values()``."""
    table = next(t for t in TABLES[run.kind] if t.model is model)
    fields = columns(model)
    order = ", ".join(f'"{k}"' for k in table.key)
    names = ", ".join(f'"{f.column}"' for f in fields)
    sql = f"SELECT {names} FROM {restored_table(run, model)} ORDER BY {order}"  # noqa: S608
    return [
        {f.attname: _from_sqlite(f, value) for f, value in zip(fields, row, strict=True)}
        for row in restored_query(run, sql)
    ]
