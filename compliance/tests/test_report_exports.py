"""Export jobs at the service layer: a request queues a kept export and its task, the run
stores the file under its sha256 with the row count and a JobRun, a failed run keeps its
message and no file, refused filters make nothing, downloads are checked and audited, and
schedules are periodic tasks whose period is resolved when they run."""

import csv
import dataclasses
import hashlib
import io
import json
from datetime import date

import pytest
from django.core.files.storage import storages
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from compliance.models import AuditEvent
from compliance.reports.export_schedules import report_period_resolve, report_schedule_create
from compliance.reports.exports import (
    ReportExportNotFound,
    ReportFileAltered,
    report_export_open,
    report_export_request,
    report_export_run,
)
from compliance.reports.models import ReportExport
from compliance.reports.registers import REGISTERS, ReportParamsError
from compliance.tasks import report_export_scheduled
from marketdata.calendar import IST
from ops.models import JobRun

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("export_registers")]


def today() -> date:
    return timezone.localdate(timezone.now(), IST)


def actions(export: ReportExport) -> list[str]:
    events = AuditEvent.objects.filter(object_type="compliance.reportexport", object_id=export.pk)
    return list(events.order_by("id").values_list("action", flat=True))


def stored(export: ReportExport) -> bytes:
    with storages["compliance"].open(export.path, "rb") as file:
        return file.read()


def test_a_requested_export_runs_to_a_file_named_by_its_sha256(
    reports_officer, django_capture_on_commit_callbacks
):
    day = today().isoformat()
    with django_capture_on_commit_callbacks() as queued:
        export = report_export_request(
            user=reports_officer,
            kind="test_audit",
            fmt="csv",
            data={"date_from": day, "date_to": day},
        )
    assert (export.status, export.params) == ("queued", {"date_from": day, "date_to": day})
    assert len(queued) == 1, "the task is enqueued on commit, once"
    expected = list(AuditEvent.objects.order_by("id").values_list("id", "action"))
    queued[0]()  # the task, run in-process

    export.refresh_from_db()
    content = stored(export)
    sha256 = hashlib.sha256(content).hexdigest()
    assert export.status == "succeeded"
    assert export.path == f"exports/test_audit/{day}/{sha256}.csv"
    assert (export.sha256, export.size, export.row_count) == (sha256, len(content), len(expected))
    assert export.database == "default"
    assert export.started_at <= export.finished_at
    rows = list(csv.reader(io.StringIO(content.decode())))
    assert rows[0] == ["id", "action", "at"]
    assert [(int(r[0]), r[1]) for r in rows[1:]] == expected
    run = JobRun.objects.get(pk=export.job_run_id)
    assert (run.kind, run.status, run.done) == (
        "compliance.report_export",
        "succeeded",
        len(expected),
    )
    assert run.result["sha256"] == sha256
    assert actions(export) == ["report.export_requested", "report.export_completed"]
    requested, completed = AuditEvent.objects.filter(object_id=export.pk).order_by("id")
    assert requested.actor_username == "meera_co"
    assert completed.after["sha256"] == sha256
    assert completed.after["row_count"] == len(expected)


def test_a_second_run_of_a_finished_export_changes_nothing(
    reports_officer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        export = report_export_request(user=reports_officer, kind="test_audit", fmt="csv", data={})
    export.refresh_from_db()
    again = report_export_run(export.pk)
    assert (again.status, again.path, again.sha256) == ("succeeded", export.path, export.sha256)
    assert actions(export).count("report.export_completed") == 1
    assert JobRun.objects.count() == 1


def test_a_register_that_counts_its_rows_gives_the_job_run_its_total_first(
    reports_officer, export_registers, monkeypatch, django_capture_on_commit_callbacks
):
    counted = export_registers["test_audit"]
    seen: list[tuple[int | None, int]] = []

    def rows(params):
        for row in counted.rows(params):  # what Job runs shows while the rows are read
            run = JobRun.objects.get()
            seen.append((run.total, run.done))
            yield row

    monkeypatch.setitem(REGISTERS, "test_audit", dataclasses.replace(counted, rows=rows))
    with django_capture_on_commit_callbacks(execute=True):
        export = report_export_request(user=reports_officer, kind="test_audit", fmt="csv", data={})
    export.refresh_from_db()
    n = export.row_count
    assert n == AuditEvent.objects.filter(action="report.export_requested").count() == 1
    assert seen == [(n, 0)]  # the total was on record before the first row
    run = JobRun.objects.get(pk=export.job_run_id)
    assert (run.status, run.done, run.total, run.percent) == ("succeeded", n, n, 100.0)


def test_a_register_that_cannot_count_leaves_the_total_empty(
    reports_officer, export_registers, django_capture_on_commit_callbacks
):
    assert export_registers["test_flaky"].count is None
    with django_capture_on_commit_callbacks(execute=True):
        export = report_export_request(user=reports_officer, kind="test_flaky", fmt="csv", data={})
    export.refresh_from_db()
    run = JobRun.objects.get(pk=export.job_run_id)
    assert (export.status, export.row_count) == ("succeeded", 1)
    assert (run.done, run.total, run.percent) == (1, None, None)


def test_a_total_overtaken_by_new_rows_is_the_rows_written_at_the_end(
    reports_officer, export_registers, monkeypatch, django_capture_on_commit_callbacks
):
    counted = export_registers["test_audit"]
    stale = dataclasses.replace(counted, count=lambda params: counted.count(params) + 5)
    monkeypatch.setitem(REGISTERS, "test_audit", stale)
    with django_capture_on_commit_callbacks(execute=True):
        export = report_export_request(user=reports_officer, kind="test_audit", fmt="csv", data={})
    export.refresh_from_db()
    run = JobRun.objects.get(pk=export.job_run_id)
    assert run.done == run.total == export.row_count == 1


def test_a_failed_run_keeps_its_message_and_no_file(
    reports_officer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        export = report_export_request(user=reports_officer, kind="test_broken", fmt="csv", data={})
    export.refresh_from_db()
    assert export.status == "failed"
    assert export.error == "RuntimeError: the replica went away"
    assert (export.path, export.sha256, export.size, export.row_count) == ("", "", None, None)
    storage = storages["compliance"]
    assert not storage.exists("exports") or storage.listdir("exports") == ([], [])
    run = JobRun.objects.get(pk=export.job_run_id)
    assert run.status == "failed"
    assert "the replica went away" in run.message
    assert actions(export) == ["report.export_requested", "report.export_failed"]
    with pytest.raises(Exception, match="is failed: no file"):
        report_export_open(export=export, user=reports_officer)


def test_a_pdf_over_the_writers_row_cap_fails_with_its_reason(
    reports_officer, django_capture_on_commit_callbacks
):
    from compliance.services import audit_record

    audit_record(action="admin.other", object_type="test.thing", object_id="1")
    with django_capture_on_commit_callbacks(execute=True):
        export = report_export_request(user=reports_officer, kind="test_audit", fmt="pdf", data={})
    export.refresh_from_db()
    assert export.status == "failed"
    assert export.error == "A PDF holds at most 1 rows; this one has 2. format: Choose CSV or XLSX."
    assert export.path == ""


@pytest.mark.parametrize(("failures", "status", "runs"), [(2, "succeeded", 3), (4, "failed", 4)])
def test_a_lost_connection_is_retried_then_fails_the_export(
    reports_officer, django_capture_on_commit_callbacks, monkeypatch, failures, status, runs
):
    from compliance.tests.export_fixtures import FLAKY
    from tradingsite.celery import app

    # In-process, a retry runs at once, if the eager task does not propagate its Retry.
    monkeypatch.setitem(app.conf, "task_eager_propagates", False)
    FLAKY["failures"] = failures
    with django_capture_on_commit_callbacks(execute=True):
        export = report_export_request(user=reports_officer, kind="test_flaky", fmt="csv", data={})
    export.refresh_from_db()
    assert export.status == status
    assert JobRun.objects.count() == runs  # one run per attempt: three retries at most
    if status == "succeeded":
        assert export.row_count == 1
        assert export.error == ""
    else:
        assert export.error == "OperationalError: server closed the connection unexpectedly"
        assert export.path == ""
    final = {"succeeded": "report.export_completed", "failed": "report.export_failed"}
    assert actions(export) == ["report.export_requested", final[status]]


@pytest.mark.parametrize(
    ("kind", "fmt", "data", "fields"),
    [
        ("test_audit", "csv", {"date_from": "2026-11-02", "date_to": "2026-11-01"}, {"date_to"}),
        ("test_audit", "csv", {"date_from": "2024-01-01", "date_to": "2026-01-01"}, {"date_to"}),
        ("test_audit", "csv", {"date_from": "yesterday"}, {"date_from"}),
        ("test_statement", "csv", {"account": "999999"}, {"account"}),
        ("test_audit", "csv", {"client": "1"}, {"client"}),  # a filter it does not take
        ("no_such_report", "csv", {}, {"kind"}),
        ("test_audit", "docx", {}, {"format"}),
        ("no_such_report", "docx", {}, {"kind", "format"}),
    ],
)
def test_refused_filters_make_no_export_and_no_job(reports_officer, kind, fmt, data, fields):
    with pytest.raises(ReportParamsError) as refused:
        report_export_request(user=reports_officer, kind=kind, fmt=fmt, data=data)
    assert set(refused.value.errors) == fields
    assert ReportExport.objects.count() == 0
    assert JobRun.objects.count() == 0
    assert not AuditEvent.objects.filter(action="report.export_requested").exists()


def test_a_client_runs_only_the_statement_of_their_own_client(account, user_in_role):
    from django.contrib.auth.models import Group

    asha = account.users.get()
    asha.groups.add(Group.objects.get(name="Client"))
    with pytest.raises(PermissionError, match="compliance staff only"):
        report_export_request(user=asha, kind="test_audit", fmt="csv", data={})
    export = report_export_request(user=asha, kind="test_statement", fmt="csv", data={})
    assert export.params == {"client_id": account.client_id}
    assert ReportExport.objects.count() == 1


def test_a_download_is_checked_against_its_sha256_and_audited(
    reports_officer, reports_auditor, compliance_files_dir, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        export = report_export_request(user=reports_officer, kind="test_audit", fmt="csv", data={})
    export.refresh_from_db()
    with report_export_open(export=export, user=reports_auditor) as file:
        assert file.read() == stored(export)
    downloaded = AuditEvent.objects.get(action="report.export_downloaded")
    assert downloaded.actor_username == "audra"
    assert downloaded.after == {"path": export.path, "sha256": export.sha256}

    (compliance_files_dir / export.path).write_bytes(b"id,action,at\n1,forged,now\n")
    with pytest.raises(ReportFileAltered) as refused:
        report_export_open(export=export, user=reports_officer)
    assert export.path in refused.value.detail
    assert refused.value.extra == {"path": export.path}
    assert AuditEvent.objects.filter(action="report.export_refused").count() == 1
    assert AuditEvent.objects.filter(action="report.export_downloaded").count() == 1


def test_a_client_cannot_open_another_clients_export(
    account, django_user_model, django_capture_on_commit_callbacks
):
    from django.contrib.auth.models import Group

    from compliance.models import Client
    from orders.models import TradingAccount

    clients = Group.objects.get(name="Client")
    asha = account.users.get()
    asha.groups.add(clients)
    other = TradingAccount.objects.create(
        code="TS0002", client=Client.objects.create(name="Ravi Iyer", pan="ABCPI1234L")
    )
    ravi = django_user_model.objects.create_user("ravi_client")
    ravi.groups.add(clients)
    other.users.add(ravi)
    with django_capture_on_commit_callbacks(execute=True):
        export = report_export_request(user=asha, kind="test_statement", fmt="csv", data={})
    export.refresh_from_db()
    assert export.status == "succeeded"
    assert export.row_count == account.ledger.count() == 1
    with pytest.raises(ReportExportNotFound, match=f"No report export {export.pk}"):
        report_export_open(export=export, user=ravi)
    assert report_export_open(export=export, user=asha).read() == stored(export)


# --- schedules -------------------------------------------------------------------------


def test_a_schedule_is_a_periodic_task_on_the_reports_queue(reports_officer):
    task = report_schedule_create(
        user=reports_officer, name="Weekly trade register", kind="test_audit", fmt="csv",
        period="last_week", crontab="0 7 * * 1", filters={"actor": "meera_co"},
    )  # fmt: skip
    task = PeriodicTask.objects.get(pk=task.pk)
    assert (task.task, task.queue) == ("compliance.tasks.report_export_scheduled", "reports")
    assert json.loads(task.kwargs) == {
        "kind": "test_audit", "fmt": "csv", "period": "last_week",
        "filters": {"actor": "meera_co"}, "schedule": "Weekly trade register",
    }  # fmt: skip
    cron = task.crontab
    assert (cron.minute, cron.hour, cron.day_of_week, str(cron.timezone)) == (
        "0", "7", "1", "Asia/Kolkata"
    )  # fmt: skip
    event = AuditEvent.objects.get(action="report.schedule_created")
    assert (event.actor_username, event.after["crontab"]) == ("meera_co", "0 7 * * 1")


def test_a_schedule_is_refused_field_by_field_and_to_auditors(reports_officer, reports_auditor):
    with pytest.raises(ReportParamsError) as refused:
        report_schedule_create(
            user=reports_officer, name="", kind="test_audit", fmt="csv", period="fortnight",
            crontab="0 7 * *", filters={"date_from": "2026-01-01"},
        )  # fmt: skip
    assert set(refused.value.errors) == {"name", "period", "crontab", "date_from"}
    with pytest.raises(ReportParamsError) as refused:
        report_schedule_create(
            user=reports_officer, name="x", kind="test_audit", fmt="csv", period="today",
            crontab="61 7 * * *", filters={"client": "1"},
        )  # fmt: skip
    assert set(refused.value.errors) == {"crontab", "client"}
    with pytest.raises(PermissionError, match="schedule_report_exports"):
        report_schedule_create(
            user=reports_auditor, name="x", kind="test_audit", fmt="csv", period="today",
            crontab="0 7 * * *",
        )  # fmt: skip
    assert not PeriodicTask.objects.filter(task="compliance.tasks.report_export_scheduled")


@pytest.mark.parametrize(
    ("period", "on", "expected"),
    [
        ("today", date(2026, 12, 3), (date(2026, 12, 3), date(2026, 12, 3))),
        ("yesterday", date(2026, 12, 1), (date(2026, 11, 30), date(2026, 11, 30))),
        ("last_week", date(2026, 12, 3), (date(2026, 11, 23), date(2026, 11, 29))),  # a Thursday
        ("last_week", date(2026, 11, 30), (date(2026, 11, 23), date(2026, 11, 29))),  # a Monday
        ("last_month", date(2026, 1, 15), (date(2025, 12, 1), date(2025, 12, 31))),
        ("last_month", date(2026, 3, 1), (date(2026, 2, 1), date(2026, 2, 28))),
    ],
)
def test_periods_are_resolved_on_the_day_of_the_run(period, on, expected):
    assert report_period_resolve(period, today=on) == expected


def test_the_scheduled_task_requests_the_export_as_its_schedule(
    reports_officer, django_capture_on_commit_callbacks
):
    task = report_schedule_create(
        user=reports_officer, name="Daily audit register", kind="test_audit", fmt="csv",
        period="yesterday", crontab="30 6 * * *",
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        result = report_export_scheduled.apply(kwargs=json.loads(task.kwargs)).get()
    export = ReportExport.objects.get(pk=result["export"])
    start, end = report_period_resolve("yesterday", today=today())
    assert export.params == {"date_from": start.isoformat(), "date_to": end.isoformat()}
    assert (export.requested_by, export.schedule) == (None, "Daily audit register")
    assert export.status == "succeeded"
    requested = AuditEvent.objects.get(action="report.export_requested")
    assert requested.actor_username == "system"
