"""Celery tasks of the compliance app (queue ``maintenance``; report exports: ``reports``)."""

from celery import shared_task
from django.db import InterfaceError, OperationalError


@shared_task(name="compliance.tasks.audit_checkpoint")
def audit_checkpoint() -> dict:
    """Verify the audit trail since the last checkpoint, then checkpoint its head (daily)."""
    from compliance.services import audit_checkpoint as checkpoint

    made = checkpoint()
    return {"checkpoint": made.pk, "chains": len(made.heads), "events": made.events}


@shared_task(name="compliance.tasks.audit_seal")
def audit_seal(close: bool = False) -> dict:
    """Seal the chains' heads outside the database: each minute of the trading session
    (beat fires through the session's hours; minutes outside the session are skipped), and
    at the close (``close``), which seals even when nothing moved."""
    from compliance.services import audit_seal as seal
    from marketdata.calendar import is_open

    if not close and not is_open():
        return {"sealed": None, "skipped": "the market is not in session"}
    written = seal(force=close)
    if written is None:
        return {"sealed": None, "skipped": "no chain head moved since the last seal"}
    return {"sealed": written.number, "chains": written.seal["chains"], "where": written.where}


@shared_task(
    name="compliance.tasks.screening_rescreen",
    autoretry_for=(ConnectionError, TimeoutError),
    retry_backoff=True,
    max_retries=5,
)
def screening_rescreen(version_id: int) -> dict:
    """Screen every client against a new list version, with progress (ops.progress). Safe
    to run twice: a pair already raised or disposed is not raised again."""
    from compliance.screening.models import ListVersion
    from compliance.screening.services import screening_rescreen as rescreen
    from ops.progress import job_progress

    version = ListVersion.objects.select_related("screening_list").get(pk=version_id)
    with job_progress(
        "compliance.screening_rescreen", f"rescreen on {version}", unit="clients"
    ) as job:
        result = rescreen(version=version, job=job)
        job.finish(result=result)
    return result


@shared_task(name="compliance.tasks.client_screen")
def client_screen(client_id: int) -> dict:
    """Screen one client against every list's current version: at KYC submission, when the
    date of birth and nationality are known."""
    from compliance.models import Client
    from compliance.screening.services import client_screen as screen

    hits = screen(client=Client.objects.get(pk=client_id))
    return {"client": client_id, "hits": [h.pk for h in hits]}


@shared_task(name="compliance.tasks.surveillance_run")
def surveillance_run(close: bool = False) -> dict:
    """Run market-abuse surveillance over today's orders and fills: every few minutes in
    session (minutes outside the session are skipped) and at the end of the day
    (``close``), which adds the patterns that need the whole day. Safe to run twice: an
    alert is raised once per rule, subject and day."""
    from django.utils import timezone

    from compliance.surveillance.services import surveillance_run as run
    from marketdata.calendar import IST, always_open, is_open, is_trading_day

    today = timezone.localtime(timezone.now(), IST).date()
    trading_day = always_open() or is_trading_day(today)
    if not trading_day or (not close and not is_open()):
        return {"raised": None, "skipped": "the market is not in session"}
    return {"raised": run(day=today, close=close)}


@shared_task(name="compliance.tasks.monitoring_run")
def monitoring_run(day: str | None = None) -> dict:
    """Run transaction monitoring (PMLA) over each rule's look-back window ending with
    ``day`` (an ISO date; by default today, IST): at the end of each weekday. Safe to run
    twice: an alert is raised once per rule, subject and window."""
    from datetime import date

    from django.utils import timezone

    from compliance.monitoring.services import monitoring_run as run
    from marketdata.calendar import IST

    on = date.fromisoformat(day) if day else timezone.localtime(timezone.now(), IST).date()
    return {"day": on.isoformat(), "raised": run(day=on)}


@shared_task(name="compliance.tasks.contract_notes_generate")
def contract_notes_generate(day: str | None = None) -> dict:
    """Make the contract notes of ``day`` (an ISO date; by default today, IST) after the
    close, then e-mail every note not yet sent (earlier days' failures retried too). Safe
    to run twice: a client's note of a day is made once, and sent once."""
    from datetime import date

    from django.utils import timezone

    from compliance.reports.dispatch import contract_notes_dispatch
    from compliance.reports.models import ContractNoteDispatch
    from compliance.reports.services import contract_notes_generate as generate
    from marketdata.calendar import IST

    on = date.fromisoformat(day) if day else timezone.localtime(timezone.now(), IST).date()
    made = [note.number for note in generate(day=on)]
    dispatches = contract_notes_dispatch()
    return {
        "day": on.isoformat(),
        "made": made,
        "sent": [d.note.number for d in dispatches if d.status == ContractNoteDispatch.Status.SENT],
        "failed": [
            d.note.number for d in dispatches if d.status == ContractNoteDispatch.Status.FAILED
        ],
    }


@shared_task(
    name="compliance.tasks.kyc_kra_sync",
    autoretry_for=(ConnectionError, TimeoutError),
    retry_backoff=True,
    max_retries=5,
)
def kyc_kra_sync(application_id: int) -> dict:
    """Ask the KRA about one application (upload it if the KRA does not know it)."""
    from compliance.kyc.models import KycApplication
    from compliance.kyc.services import kyc_kra_sync as sync

    application = sync(application=KycApplication.objects.get(pk=application_id))
    return {"application": application.pk, "kra_status": application.kra_status}


@shared_task(name="compliance.tasks.kyc_daily")
def kyc_daily() -> dict:
    """Daily: poll the KRA for approved applications not yet validated, and raise the
    re-KYCs falling due into their queue."""
    from compliance.kyc.selectors import kyc_awaiting_kra
    from compliance.kyc.services import rekyc_raise_due

    polled = list(kyc_awaiting_kra().values_list("pk", flat=True))
    for pk in polled:
        kyc_kra_sync.delay(pk)
    return {"kra_polled": len(polled), "rekyc_raised": len(rekyc_raise_due())}


@shared_task(name="compliance.tasks.str_due_remind")
def str_due_remind() -> dict:
    """E-mail the officers who file STRs about every draft due within two days or overdue
    (each STR once a day)."""
    from django.utils import timezone

    from compliance.cases.services import str_due_remind as remind
    from marketdata.calendar import IST

    reminded = remind(today=timezone.localtime(timezone.now(), IST).date())
    return {"reminded": [r.ref for r in reminded]}


@shared_task(
    bind=True,
    name="compliance.tasks.report_export",
    autoretry_for=(OperationalError, InterfaceError, ConnectionError, TimeoutError),
    retry_backoff=True,
    max_retries=3,
)
def report_export(self, export_id: int) -> dict:
    """Run one queued report export to its file (queue ``reports``); a transient error
    (a lost connection) is retried with backoff, and the last attempt fails the export.
    Safe to run twice: a finished export is left as it is."""
    from compliance.reports.exports import report_export_run

    last = self.request.retries >= self.max_retries
    export = report_export_run(export_id, retry_transient=not last)
    return {"export": export.pk, "status": export.status, "rows": export.row_count}


@shared_task(name="compliance.tasks.report_export_scheduled")
def report_export_scheduled(
    kind: str, fmt: str, period: str, filters: dict | None = None, schedule: str = ""
) -> dict:
    """A scheduled export (django-celery-beat, ``report_schedule_create``): ``period``
    ("today", "yesterday", "last_week", "last_month") is resolved on today in IST, and
    the export is requested as the schedule, then runs as its own task."""
    from django.utils import timezone

    from compliance.reports.export_schedules import report_export_scheduled as request
    from marketdata.calendar import IST

    export = request(
        kind=kind, fmt=fmt, period=period, filters=filters or {}, schedule=schedule,
        today=timezone.localdate(timezone.now(), IST),
    )  # fmt: skip
    return {"export": export.pk, "params": export.params}


from compliance.retention.tasks import archive_month_task  # noqa: E402, F401  (registers it)
