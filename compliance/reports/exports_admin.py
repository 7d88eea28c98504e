"""The admin's Reports page, and report exports (read-only: they are kept records).

``/admin/compliance/reports/`` lists each register with a form of its filters and a format
("Run now" queues an export through ``report_export_request``), the recent exports with
their status, progress, row count, sha256 and a download link, and a form that schedules
an export (``report_schedule_create``), for holders of
``compliance.export_regulatory_reports`` (scheduling: ``compliance.schedule_report_exports``).
"""

from collections.abc import Callable
from typing import TypeVar

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from compliance.reports.export_schedules import PERIODS, SCHEDULE_PERM, report_schedule_create
from compliance.reports.exports import report_export_open, report_export_request
from compliance.reports.models import ReportExport
from compliance.reports.registers import ReportParamsError
from compliance.reports.registers.base import FILTERS
from compliance.reports.selectors import EXPORT_PERM, report_exports_for, report_kinds_for
from ops.models import JobRun
from tradingsite.admin import ReadOnlyAdmin
from tradingsite.errors import DomainError

RECENT = 25
T = TypeVar("T")
DATE_FILTERS = ("date_from", "date_to")


@admin.register(ReportExport)
class ReportExportAdmin(ReadOnlyAdmin):
    list_display = [
        "id", "kind", "format", "status", "requested_by", "schedule", "row_count", "sha256",
        "database", "created_at", "finished_at", "download",
    ]  # fmt: skip
    list_filter = ["status", "kind", "format"]
    readonly_fields = [f.name for f in ReportExport._meta.fields]

    @admin.display(description="file")
    def download(self, export: ReportExport) -> str:
        if export.status != ReportExport.Status.SUCCEEDED:
            return "-"
        url = reverse("compliance-report-file", args=[export.pk])
        return format_html('<a href="{}">download</a>', url)


def _input(name: str) -> str:
    return "date" if name in DATE_FILTERS else "text"


def _errors_text(refused: ReportParamsError) -> str:
    said = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in refused.errors.items())
    return f"{refused.detail} {said}".strip()


def _refusals_shown(request: HttpRequest, call: Callable[[], T]) -> T | None:
    """``call()``'s answer; a refusal (bad filters, a kind or a schedule the user may not
    make) shown as the page's error message instead, and ``None``."""
    try:
        return call()
    except ReportParamsError as refused:
        messages.error(request, _errors_text(refused))
    except PermissionError as refused:
        messages.error(request, str(refused))
    return None


def _run_now(request: HttpRequest) -> None:
    kind = request.POST.get("kind", "")
    data = {name: request.POST.get(name, "").strip() for name in FILTERS}
    export = _refusals_shown(
        request,
        lambda: report_export_request(
            user=request.user, kind=kind, fmt=request.POST.get("format", ""), data=data
        ),
    )
    if export is not None:
        messages.success(request, f"Export {export.pk} of {kind} queued.")


def _schedule(request: HttpRequest) -> None:
    posted = request.POST
    filters = {n: posted.get(n, "").strip() for n in FILTERS if n not in DATE_FILTERS}

    def create():
        return report_schedule_create(
            user=request.user, name=posted.get("name", ""), kind=posted.get("kind", ""),
            fmt=posted.get("format", ""), period=posted.get("period", ""),
            crontab=posted.get("crontab", ""), filters=filters,
        )  # fmt: skip

    task = _refusals_shown(request, create)
    if task is not None:
        url = reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])
        messages.success(
            request, format_html('Scheduled: <a href="{}">{}</a> (periodic tasks).', url, task.name)
        )


def reports_view(request: HttpRequest) -> HttpResponse:
    """The Reports page: run now, recent exports, schedule."""
    if not request.user.has_perm(EXPORT_PERM):
        raise PermissionDenied
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "run":
            _run_now(request)
        elif action == "schedule":
            _schedule(request)
        return redirect("compliance-reports")
    recent = list(report_exports_for(user=request.user)[:RECENT])
    run_ids = [e.job_run_id for e in recent if e.job_run_id]
    runs = {r.pk: r for r in JobRun.objects.filter(pk__in=run_ids)}
    context = {
        **admin.site.each_context(request),
        "title": "Reports",
        "registers": [
            {"register": r, "filters": [(n, _input(n)) for n in FILTERS if n in r.filters]}
            for r in report_kinds_for(user=request.user)
        ],
        "formats": ReportExport.Format.choices,
        "periods": PERIODS.items(),
        "exports": [(e, runs.get(e.job_run_id)) for e in recent],
        "may_schedule": request.user.has_perm(SCHEDULE_PERM),
    }
    return TemplateResponse(request, "admin/compliance/reports.html", context)


def report_file_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Download one export's file (audited, its sha256 checked)."""
    export = get_object_or_404(report_exports_for(user=request.user), pk=pk)
    try:
        file = report_export_open(export=export, user=request.user)
    except DomainError as refused:  # an altered file, or one not made yet
        messages.error(request, refused.detail)
        return redirect("compliance-reports")
    return FileResponse(
        file, as_attachment=True, filename=f"{export.kind}-{export.pk}.{export.format}"
    )
