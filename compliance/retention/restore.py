"""``archive_restore``: a verified archive reloaded into a read-only copy, and queried.

Every checksum and the audit chain across the archive's boundaries are verified first
(``archive_verify``). The rows are then loaded into a SQLite file of their own under
``ARCHIVE_RESTORE_ROOT`` (one per run, its tables named as the online ones), which is made
read-only on disk and opened only with ``mode=ro``: the restored copy cannot be written
through this module, and it never mixes with the online tables. This works on both
profiles; a PostgreSQL ``archive_restore`` schema is not built yet
(docs/compliance-retention.md).
"""

import datetime as dt
import json
import sqlite3
import stat
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models, transaction
from django.utils import timezone

from compliance.retention.errors import ArchiveRefused
from compliance.retention.models import ArchiveRun, ArchiveStatus
from compliance.retention.tables import TABLES, columns
from compliance.retention.verify import archive_verify, archived_rows, manifest_read
from compliance.services import audit_record

ARCHIVE_PERMISSION = "compliance.archive_records"
BATCH = 5000


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
    if value is None:
        return None
    if isinstance(field, models.JSONField):
        return json.loads(value)
    if isinstance(field, models.DateTimeField | models.DateField | models.DecimalField):
        return field.to_python(value)
    return value


def archive_restore(*, run: ArchiveRun, actor: AbstractBaseUser) -> Path:
    """Verify ``run``'s archive and load it into its read-only SQLite copy; return its path."""
    if not actor.is_active or not actor.has_perm(ARCHIVE_PERMISSION):
        raise ArchiveRefused(f"{actor.get_username()} may not restore an archive")
    if run.status == ArchiveStatus.PURGED:
        raise ArchiveRefused(f"archive run {run.pk} was purged after its retention")
    archive_verify(run=run)
    manifest = manifest_read(run)
    path = restore_path(run)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)
        path.unlink()
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    with sqlite3.connect(partial) as db:
        for entry in manifest["files"]:
            table = next(t for t in TABLES[run.kind] if t.name == entry["table"])
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
    db.close()
    partial.rename(path)
    path.chmod(stat.S_IRUSR | stat.S_IRGRP)
    with transaction.atomic():
        locked = ArchiveRun.objects.select_for_update(of=("self",)).get(pk=run.pk)
        locked.restored_at, locked.restored_to = timezone.now(), str(path)
        locked.save(update_fields=["restored_at", "restored_to"])
        audit_record(action="archive.restored", obj=locked, actor=actor,
                     after={"restored_to": str(path)})  # fmt: skip
    run.restored_at, run.restored_to = locked.restored_at, locked.restored_to
    return path


def _open(run: ArchiveRun) -> sqlite3.Connection:
    path = restore_path(run)
    if not path.exists():
        raise ArchiveRefused(f"archive run {run.pk} is not restored: run archive_restore first")
    return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)


def restored_query(run: ArchiveRun, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of a read-only ``sql`` query over ``run``'s restored copy."""
    with _open(run) as db:
        return db.execute(sql, params).fetchall()


def restored_rows(run: ArchiveRun, model: type[models.Model]) -> list[dict]:
    """Every restored row of ``model``'s table, in key order, as the ORM's ``values()``."""
    table = next(t for t in TABLES[run.kind] if t.model is model)
    fields = columns(model)
    order = ", ".join(f'"{k}"' for k in table.key)
    sql = f'SELECT * FROM "{table.name}" ORDER BY {order}'  # noqa: S608 - our names
    return [
        {f.attname: _from_sqlite(f, value) for f, value in zip(fields, row, strict=True)}
        for row in restored_query(run, sql)
    ]
