"""``archive_query``: SQL over an archive's Parquet files with DuckDB, without a restore.

Every file is re-hashed against the manifest first (a tampered one is refused, naming it).
The files are loaded into an in-memory DuckDB database, one table per archived table under
its online name; then the session's access to files and the network is switched off and
its configuration locked, so the query given reads the archive and nothing else. Filesystem
storage only: an S3 archive is queried through ``archive_restore``.
"""

from typing import Any

import duckdb
from django.core.files.storage import FileSystemStorage, storages

from compliance.retention.errors import ArchiveRefused
from compliance.retention.models import ArchiveRun, ArchiveStatus
from compliance.retention.tables import TABLES
from compliance.retention.verify import check_file, manifest_read


def archive_query(run: ArchiveRun, sql: str, params: list[Any] | None = None) -> list[tuple]:
    """The rows of ``sql`` (DuckDB's dialect) over ``run``'s archived tables."""
    if run.status == ArchiveStatus.PURGED:
        raise ArchiveRefused(f"archive run {run.pk} was purged after its retention")
    storage = storages[run.storage]
    if not isinstance(storage, FileSystemStorage):
        raise ArchiveRefused(
            f"archive run {run.pk} is not on the filesystem: restore it (archive_restore) "
            "to query it"
        )
    manifest = manifest_read(run)
    db = duckdb.connect(":memory:")
    try:
        known = {table.name for table in TABLES[run.kind]}
        for entry in manifest["files"]:
            check_file(storage, entry)
            if entry["table"] not in known:
                raise ArchiveRefused(
                    f"archive run {run.pk}: no table {entry['table']!r} is archived"
                )
            create = f'CREATE TABLE "{entry["table"]}" AS SELECT * FROM read_parquet(?)'  # noqa: S608 - a known table's name
            db.execute(create, [storage.path(entry["name"])])
        db.execute("SET enable_external_access = false")
        db.execute("SET lock_configuration = true")
        return db.execute(sql, params or []).fetchall()
    finally:
        db.close()
