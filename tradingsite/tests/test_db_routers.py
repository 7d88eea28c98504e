"""The reporting replica: reads inside ``reports_reading()`` go to the ``reports`` alias when
it is configured, writes stay on ``default``, and an export reads its rows there and says so.

The replica here is a second SQLite file, set up by the test with only the audit trail's
table and rows of its own (ids from 9001), so a read that reached the primary instead
would show other rows.
"""

import warnings
from datetime import timedelta

import pytest
from django.db import connections
from django.db.utils import load_backend
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from compliance.models import AuditEvent
from compliance.reports.exports import report_export_request
from compliance.reports.models import ReportExport
from ops.models import JobRun
from tradingsite.db_routers import ReportsRouter, reports_alias, reports_reading

REPLICA_IDS = [9001, 9002, 9003]


@pytest.fixture
def replica(db, settings, tmp_path):
    """A ``reports`` alias on its own SQLite file, holding three audit events. Made after
    the test database is set up (``db``)."""
    config = connections.configure_settings(
        {
            "default": dict(connections.settings["default"]),
            "reports": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "r.db")},
        }
    )["reports"]
    # Known to Django's settings (so the router uses it), but a connection made here, not
    # one of the handler's configured aliases: the test case lets it through.
    with warnings.catch_warnings():  # "Overriding setting DATABASES": that is the point
        warnings.simplefilter("ignore", UserWarning)
        settings.DATABASES = {**settings.DATABASES, "reports": config}
    replica = load_backend(config["ENGINE"]).DatabaseWrapper(config, "reports")
    connections["reports"] = replica
    try:
        yield _replica_filled(replica)
    finally:
        replica.close()
        del connections["reports"]


def _replica_filled(replica):
    with replica.schema_editor() as editor:
        editor.create_model(AuditEvent)
    now = timezone.now()
    AuditEvent.objects.using("reports").bulk_create(
        AuditEvent(
            id=pk, chain="firm", seq=pk, occurred_at=now - timedelta(minutes=1),
            action="replica.row", actor_username="system", prev_hash="0" * 64, hash="1" * 64,
        )
        for pk in REPLICA_IDS
    )  # fmt: skip
    return replica


def test_without_a_replica_reads_stay_on_the_primary(settings):
    assert "reports" not in settings.DATABASES
    with reports_reading() as alias:
        assert alias == "default"
        assert ReportsRouter().db_for_read(AuditEvent) is None
    assert reports_alias() == "default"


@pytest.mark.django_db
def test_reads_inside_reports_reading_go_to_the_replica_and_writes_to_the_primary(replica):
    router = ReportsRouter()
    assert router.db_for_read(AuditEvent) is None  # outside the block: the primary
    with CaptureQueriesContext(replica) as on_replica, reports_reading() as alias:
        assert alias == "reports"
        assert list(AuditEvent.objects.values_list("id", flat=True)) == REPLICA_IDS
        run = JobRun.objects.create(kind="test", description="written inside the block")
    assert len(on_replica.captured_queries) == 1
    assert "compliance_auditevent" in on_replica.captured_queries[0]["sql"]
    assert JobRun.objects.filter(pk=run.pk).exists()  # on the primary
    assert router.db_for_write(AuditEvent) == "default"
    assert router.allow_migrate("reports", "compliance") is False
    assert not AuditEvent.objects.filter(id__in=REPLICA_IDS).exists()


@pytest.mark.django_db
def test_an_export_reads_its_rows_from_the_replica_and_records_it(
    replica, reports_officer, export_registers, django_capture_on_commit_callbacks
):
    with (
        CaptureQueriesContext(replica) as on_replica,
        django_capture_on_commit_callbacks(execute=True),
    ):
        export = report_export_request(user=reports_officer, kind="test_audit", fmt="csv", data={})
    export = ReportExport.objects.get(pk=export.pk)
    assert export.status == "succeeded", export.error
    assert (export.database, export.row_count) == ("reports", len(REPLICA_IDS))
    # The progress total is counted on the replica too (the primary has other rows).
    counts = [q["sql"] for q in on_replica.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1
    run = JobRun.objects.get(pk=export.job_run_id)
    assert (run.done, run.total) == (len(REPLICA_IDS), len(REPLICA_IDS))
    from django.core.files.storage import storages

    with storages["compliance"].open(export.path) as file:
        ids = [int(line.split(b",")[0]) for line in file.read().splitlines()[1:]]
    assert ids == REPLICA_IDS
    # The export's own record and audit events are on the primary.
    assert AuditEvent.objects.filter(action="report.export_completed").count() == 1
