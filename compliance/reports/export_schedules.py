"""Scheduled exports: a register run by beat over a period named relative to the day.

``report_schedule_create`` makes a django-celery-beat periodic task (a crontab in IST) that
calls ``compliance.tasks.report_export_scheduled`` with the kind, the format, the period
and the other filters, so the schedule is seen, edited and disabled in the admin's
periodic tasks. At each run :func:`report_period_resolve` turns the period into dates in
IST ("last_week": Monday to Sunday of the week before), and the export is requested as
the schedule.
"""

import json
from datetime import date, timedelta
from typing import Any

from celery.schedules import crontab as celery_crontab
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from compliance.reports.exports import report_export_request
from compliance.reports.models import ReportExport
from compliance.reports.registers import ReportParamsError, report_params_parse
from compliance.services import audit_record
from marketdata.calendar import IST

SCHEDULE_PERM = "compliance.schedule_report_exports"
TASK = "compliance.tasks.report_export_scheduled"
IST_ZONE = "Asia/Kolkata"
#: The periods a schedule may cover, each relative to the day it runs (IST).
PERIODS = {
    "today": "today",
    "yesterday": "yesterday",
    "last_week": "last week (Monday to Sunday)",
    "last_month": "last month",
}


def report_period_resolve(period: str, *, today: date) -> tuple[date, date]:
    """The first and last day (inclusive) of ``period`` as seen on ``today``."""
    if period == "today":
        return today, today
    if period == "yesterday":
        return today - timedelta(days=1), today - timedelta(days=1)
    if period == "last_week":
        monday = today - timedelta(days=today.weekday() + 7)
        return monday, monday + timedelta(days=6)
    if period == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    raise ReportParamsError(
        f"No period {period!r}.", errors={"period": [f"Choose one of {sorted(PERIODS)}."]}
    )


def _crontab_fields(spec: str) -> dict[str, str]:
    fields = spec.split()
    names = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
    if len(fields) != len(names):
        raise ValueError("five fields: minute hour day-of-month month day-of-week")
    timing = dict(zip(names, fields, strict=True))
    celery_crontab(**timing)  # raises ValueError on a field it cannot parse
    return timing


def report_schedule_create(
    *,
    user: Any,
    name: str,
    kind: str,
    fmt: str,
    period: str,
    crontab: str,
    filters: dict[str, Any] | None = None,
) -> PeriodicTask:
    """Schedule an export of ``kind`` as ``fmt`` over ``period``, at ``crontab`` (five
    fields, IST), with ``filters`` besides the dates; checked as ``user`` would run it now.

    Raises :class:`PermissionError` without ``compliance.schedule_report_exports``, and
    :class:`ReportParamsError` naming each bad field (name, period, crontab, filters).
    """
    if not user.has_perm(SCHEDULE_PERM):
        raise PermissionError(f"Scheduling exports needs the {SCHEDULE_PERM} permission.")
    filters = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
    errors: dict[str, list[str]] = {}
    name = name.strip()
    if not name:
        errors["name"] = ["Name the schedule."]
    elif PeriodicTask.objects.filter(name=name).exists():
        errors["name"] = [f"A periodic task named {name!r} exists already."]
    for given in sorted({"date_from", "date_to"} & set(filters)):
        errors[given] = ["A schedule's dates come from its period."]
    if fmt not in ReportExport.Format.values:
        errors["format"] = [f"{fmt!r} is not a format: choose one of {ReportExport.Format.values}."]
    try:
        timing = _crontab_fields(crontab)
    except ValueError as bad:
        errors["crontab"] = [f"{crontab!r} is not a crontab ({bad})."]
    try:
        start, end = report_period_resolve(period, today=timezone.localdate(timezone.now(), IST))
        report_params_parse(kind, {**filters, "date_from": start, "date_to": end}, user=user)
    except ReportParamsError as refused:
        errors = {**errors, **refused.errors}
    if errors:
        raise ReportParamsError("The schedule is refused.", errors=errors)
    with transaction.atomic():
        cron, _ = CrontabSchedule.objects.get_or_create(**timing, timezone=IST_ZONE)
        task = PeriodicTask.objects.create(
            name=name,
            task=TASK,
            crontab=cron,
            queue="reports",
            kwargs=json.dumps(
                {"kind": kind, "fmt": fmt, "period": period, "filters": filters, "schedule": name}
            ),
            description=f"Export {kind} as {fmt} over {PERIODS[period]}, made by "
            f"{user.get_username()} (docs/compliance-reports.md).",
        )
        audit_record(
            action="report.schedule_created",
            obj=task,
            actor=user,
            after={"name": name, "kind": kind, "format": fmt, "period": period,
                   "crontab": crontab, "filters": filters},
        )  # fmt: skip
    return task


def report_export_scheduled(
    *, kind: str, fmt: str, period: str, filters: dict[str, Any], schedule: str, today: date
) -> ReportExport:
    """Request the export a schedule names, its period resolved on ``today`` (IST)."""
    start, end = report_period_resolve(period, today=today)
    data = {**filters, "date_from": start, "date_to": end}
    return report_export_request(user=None, kind=kind, fmt=fmt, data=data, schedule=schedule)
