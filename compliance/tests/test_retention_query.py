"""DuckDB over an archive's Parquet files: queried without a restore, refused when tampered,
and reading nothing but the archive."""

import json

import duckdb
import pytest

from compliance.retention.archive import archive_month
from compliance.retention.errors import ArchiveTampered
from compliance.retention.query import archive_query
from compliance.tests.retention_fixtures import IN_MONTH, events_at

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("archive_dir")]


@pytest.fixture
def run(archive_officers, held_account):
    events_at(IN_MONTH, 3)
    events_at(IN_MONTH, 2, account_id=held_account.pk)
    return archive_month(kind="audit_events", month="2020-03", actor=archive_officers[0])


def test_an_archive_is_queried_with_sql(run):
    rows = archive_query(
        run,
        "SELECT chain, count(*), max(seq) FROM compliance_auditevent GROUP BY chain ORDER BY chain",
    )
    chain = next(c for c in run.bounds if c != "firm")
    assert rows == [(chain, 2, 2), ("firm", 3, 3)]
    assert archive_query(
        run, "SELECT object_id FROM compliance_auditevent WHERE chain = ? ORDER BY seq", ["firm"]
    ) == [("0",), ("1",), ("2",)]


def test_a_tampered_file_is_refused_before_any_query(run, archive_dir):
    name = json.loads((archive_dir / run.manifest_name).read_bytes())["files"][0]["name"]
    (archive_dir / name).write_bytes(b"PAR1")
    with pytest.raises(ArchiveTampered, match=f"archive file {name} does not match"):
        archive_query(run, "SELECT 1")


def test_the_query_reads_nothing_but_the_archive(run, archive_dir):
    with pytest.raises(duckdb.PermissionException):
        archive_query(run, f"SELECT * FROM read_parquet('{archive_dir}/**/*.parquet')")  # noqa: S608
    with pytest.raises(duckdb.Error):
        archive_query(run, "SET enable_external_access = true")
