"""The admin's Reports page: a compliance officer runs a register now, sees it in the recent
exports with its row count and sha256, downloads it (audited), and schedules one; an
auditor may run and download but not schedule; the exports' own admin is read-only; and
the admin index links the page for those who may use it."""

import pytest
from django.test import Client as WebClient
from django_celery_beat.models import PeriodicTask

from compliance.models import AuditEvent
from compliance.reports.models import ReportExport

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("export_registers")]
PAGE = "/admin/compliance/reports/"


@pytest.fixture
def officer_web(reports_officer, otp_login):
    return otp_login(WebClient(), reports_officer)


@pytest.fixture
def auditor_web(reports_auditor, otp_login):
    return otp_login(WebClient(), reports_auditor)


def messages_of(page) -> list[str]:
    return [str(m) for m in page.context["messages"]]


def test_the_page_lists_each_register_with_its_filters(officer_web):
    page = officer_web.get(PAGE)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="run-test_audit"' in html
    assert 'id="run-test_statement"' in html
    assert '<input type="date" name="date_from">' in html
    assert '<input type="text" name="actor">' in html
    assert "No exports yet." in html
    assert 'id="schedule-form"' in html
    assert 'id="compliance-reports-link"' in officer_web.get("/admin/").content.decode()


def test_run_now_queues_an_export_that_runs_and_downloads(
    officer_web, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        answer = officer_web.post(PAGE, {"action": "run", "kind": "test_audit", "format": "csv"})
    assert answer.status_code == 302
    page = officer_web.get(answer["Location"])  # after the task ran (on commit)
    export = ReportExport.objects.get()
    assert f"Export {export.pk} of test_audit queued." in messages_of(page)
    assert export.status == "succeeded"
    html = page.content.decode()
    assert f"<td>{export.row_count}</td>" in html
    n = export.row_count
    assert f"<td>{n} of {n} rows (100.0 %)</td>" in html  # test_audit counts its rows
    assert f'title="{export.sha256}"' in html
    link = f"/admin/compliance/reports/exports/{export.pk}/file"
    assert f'href="{link}"' in html
    answer = officer_web.get(link)
    assert answer.status_code == 200
    with export_file(export) as stored:
        assert b"".join(answer.streaming_content) == stored.read()
    assert AuditEvent.objects.filter(action="report.export_downloaded").count() == 1


def export_file(export):
    from django.core.files.storage import storages

    return storages["compliance"].open(export.path, "rb")


def test_refused_filters_are_shown_and_make_nothing(officer_web):
    page = officer_web.post(
        PAGE,
        {"action": "run", "kind": "test_audit", "format": "csv",
         "date_from": "2026-11-02", "date_to": "2026-11-01"},
        follow=True,
    )  # fmt: skip
    [said] = messages_of(page)
    assert "date_to: date_to 2026-11-01 is before date_from 2026-11-02." in said
    assert not ReportExport.objects.exists()


def test_the_schedule_form_makes_a_periodic_task(officer_web):
    page = officer_web.post(
        PAGE,
        {"action": "schedule", "name": "Weekly audit register", "kind": "test_audit",
         "format": "csv", "period": "last_week", "crontab": "0 7 * * 1"},
        follow=True,
    )  # fmt: skip
    task = PeriodicTask.objects.get(name="Weekly audit register")
    assert (task.task, task.queue) == ("compliance.tasks.report_export_scheduled", "reports")
    assert any("Scheduled:" in m for m in messages_of(page))
    again = officer_web.post(
        PAGE,
        {"action": "schedule", "name": "Weekly audit register", "kind": "test_audit",
         "format": "csv", "period": "last_week", "crontab": "0 7 * * 1"},
        follow=True,
    )  # fmt: skip
    assert [m for m in messages_of(again) if "exists already" in m] == messages_of(again)
    assert PeriodicTask.objects.filter(name="Weekly audit register").count() == 1


def test_an_auditor_runs_and_downloads_but_does_not_schedule(
    auditor_web, django_capture_on_commit_callbacks
):
    page = auditor_web.get(PAGE)
    assert page.status_code == 200
    assert 'id="schedule-form"' not in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        auditor_web.post(PAGE, {"action": "run", "kind": "test_audit", "format": "csv"})
    export = ReportExport.objects.get()
    assert export.requested_by.username == "audra"
    assert auditor_web.get(f"/admin/compliance/reports/exports/{export.pk}/file").status_code == 200
    refused = auditor_web.post(
        PAGE,
        {"action": "schedule", "name": "x", "kind": "test_audit", "format": "csv",
         "period": "today", "crontab": "0 7 * * *"},
        follow=True,
    )  # fmt: skip
    assert any("schedule_report_exports" in m for m in messages_of(refused))
    assert not any("Scheduled:" in m for m in messages_of(refused))  # the refusal alone
    assert not PeriodicTask.objects.filter(name="x").exists()


def test_the_exports_admin_is_read_only(officer_web, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        officer_web.post(PAGE, {"action": "run", "kind": "test_audit", "format": "csv"})
    export = ReportExport.objects.get()
    listing = officer_web.get("/admin/compliance/reportexport/")
    assert listing.status_code == 200
    assert "test_audit" in listing.content.decode()
    assert officer_web.get("/admin/compliance/reportexport/add/").status_code == 403
    page = officer_web.get(f"/admin/compliance/reportexport/{export.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()


def test_staff_without_the_permission_are_refused(user_in_role, otp_login):
    web = otp_login(WebClient(), user_in_role("Risk Manager", "rina"))
    assert web.get(PAGE).status_code == 403
    assert 'id="compliance-reports-link"' not in web.get("/admin/").content.decode()
