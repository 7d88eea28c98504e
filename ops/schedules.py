"""Default beat schedules, installed into django-celery-beat's tables.

Only missing entries are created, so a schedule edited or disabled in the admin
keeps its edits across restarts and migrations. Apps add their entries here.
``schedule_describe`` and ``schedule_next_run`` say when a task runs, for pages that show it.
"""

import json
from dataclasses import dataclass
from datetime import datetime

from django.apps import apps as global_apps


@dataclass(frozen=True)
class DefaultSchedule:
    name: str
    task: str
    every_seconds: int | None = None
    crontab: str | None = None  # "minute hour day_of_month month_of_year day_of_week", IST
    queue: str | None = None
    description: str = ""
    kwargs: dict | None = None  # the task's keyword arguments


DEFAULT_SCHEDULES = [
    DefaultSchedule(
        name="Worker heartbeat",
        task="ops.tasks.heartbeat",
        every_seconds=60,
        description="Proves that beat and a maintenance worker are alive; /ready shows its age.",
    ),
    DefaultSchedule(
        name="Purge expired task results",
        task="celery.backend_cleanup",
        crontab="0 4 * * *",
        description="Deletes task results older than CELERY_RESULT_EXPIRES.",
    ),
    DefaultSchedule(
        name="Warm the price cache at the open",
        task="marketdata.tasks.warm_price_cache",
        crontab="15 9 * * 1-5",
        # Not earlier: a quote lives 60 s, so a pre-open warm would expire before the open.
        description="NIFTY 50 plus the most-accessed instruments, at 09:15 IST on weekdays.",
    ),
    DefaultSchedule(
        name="Prefetch predicted quotes",
        task="marketdata.tasks.prefetch",
        every_seconds=60,
        description="Fetches what the access-log predictors expect next (only in session).",
    ),
    DefaultSchedule(
        name="Prune old access samples",
        task="marketdata.tasks.prune_access_samples",
        crontab="30 2 * * *",
        description="Keeps ten days of sampled quote lookups for the prefetch predictors.",
    ),
    DefaultSchedule(
        name="Checkpoint the audit trail",
        task="compliance.tasks.audit_checkpoint",
        crontab="55 23 * * *",
        description="Verifies the audit chain since the last checkpoint, then checkpoints it.",
    ),
    DefaultSchedule(
        name="Seal the audit trail in session",
        task="compliance.tasks.audit_seal",
        crontab="* 9-15 * * 1-5",
        description="Each minute of the session, signed seals of the chain heads go outside "
        "the database (docs/audit-seals.md); minutes outside 09:15-15:30 IST are skipped.",
    ),
    DefaultSchedule(
        name="Seal the audit trail at the close",
        task="compliance.tasks.audit_seal",
        crontab="45 15 * * 1-5",
        kwargs={"close": True},
        description="The end-of-day seal at 15:45 IST, written even if no head moved.",
    ),
    DefaultSchedule(
        name="Market-abuse surveillance in session",
        task="compliance.tasks.surveillance_run",
        crontab="*/5 9-15 * * 1-5",
        description="Every 5 minutes of the session, the day's orders and fills are checked "
        "for wash trades, spoofing, order-to-trade ratio, front running and circular trading "
        "(docs/compliance-surveillance.md); minutes outside 09:15-15:30 IST are skipped.",
    ),
    DefaultSchedule(
        name="Market-abuse surveillance at the close",
        task="compliance.tasks.surveillance_run",
        crontab="50 15 * * 1-5",
        kwargs={"close": True},
        description="At 15:50 IST on trading days, every pattern over the whole day, with "
        "marking the close and concentration.",
    ),
    DefaultSchedule(
        name="STRs due: remind the officers",
        task="compliance.tasks.str_due_remind",
        crontab="30 9 * * *",
        description="At 09:30 IST every day, e-mails the officers who file STRs about each "
        "draft due to FIU-IND within two days or overdue (7 days from the determination of "
        "suspicion).",
    ),
    DefaultSchedule(
        name="Contract notes after the close",
        task="compliance.tasks.contract_notes_generate",
        crontab="30 16 * * 1-5",
        description="At 16:30 IST on weekdays, one signed contract note (PDF, CSV, JSON) "
        "for each client with fills that day, then every note not yet sent e-mailed to its "
        "client (docs/compliance-reports.md).",
    ),
    DefaultSchedule(
        name="Transaction monitoring (PMLA) at the end of the day",
        task="compliance.tasks.monitoring_run",
        crontab="30 18 * * 1-5",
        description="At 18:30 IST on weekdays, each client's deposits, withdrawals and fills "
        "over the rules' look-back windows are checked against its declared income and for "
        "structuring, funds passed through, dormant accounts reactivated and illiquid "
        "stocks (docs/compliance-monitoring.md).",
    ),
    DefaultSchedule(
        name="KYC: poll the KRA and raise re-KYC due",
        task="compliance.tasks.kyc_daily",
        crontab="0 7 * * *",
        description="Asks the KRA about approved applications not yet validated, and raises "
        "clients whose periodic re-KYC falls due within 30 days into the re-KYC queue.",
    ),
    DefaultSchedule(
        name="Relay unsent orders",
        task="orders.tasks.outbox_relay",
        every_seconds=15,
        description="Re-sends orders whose submission was lost, and cancels and changes left "
        "unanswered; releases AMOs at the open.",
    ),
    DefaultSchedule(
        name="Square off intraday positions",
        task="orders.tasks.square_off_intraday",
        crontab="20 15 * * 1-5",
        description="MIS positions are closed with market orders at 15:20 IST.",
    ),
    DefaultSchedule(
        name="Expire DAY orders",
        task="orders.tasks.expire_day_orders",
        crontab="35 15 * * 1-5",
        description="Working DAY orders expire after the 15:30 close; their funds are released.",
    ),
    DefaultSchedule(
        name="Settle delivery trades (T+1)",
        task="orders.tasks.settle_delivery",
        crontab="30 8 * * 1-5",
        description="The last session's delivery trades move into holdings before the open.",
    ),
    DefaultSchedule(
        name="Margin snapshots in session",
        task="orders.tasks.margin_snapshot",
        crontab="0,30 9-15 * * 1-5",
        queue="maintenance",
        description="Every account's cash, blocked funds and intraday margin, each half hour "
        "the market is open (the daily margin statement's peak).",
    ),
    DefaultSchedule(
        name="Margin snapshot at the close",
        task="orders.tasks.margin_snapshot",
        crontab="40 15 * * 1-5",
        queue="maintenance",
        kwargs={"kind": "close"},
        description="Every account's funds and margin at 15:40 IST, after the square-off and "
        "the close: the daily margin statement's closing figures.",
    ),
    DefaultSchedule(
        name="Post-trade risk monitors",
        task="risk.tasks.run_monitors",
        every_seconds=30,
        description="MTM, day P&L and exposure per account; a breach trips its kill switch.",
    ),
    DefaultSchedule(
        name="Rotate secrets",
        task="ops.tasks.rotate_secrets",
        crontab="30 3 1 * *",
        queue="maintenance",
        description="Monthly, 03:30 IST on the 1st: database and Redis passwords, SECRET_KEY, "
        "the field-encryption key, expired API keys (docs/secrets.md).",
    ),
]


def schedules_install(apps=global_apps) -> list[str]:
    """Create any default schedule that does not exist yet; return the names created."""
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    created = []
    for entry in DEFAULT_SCHEDULES:
        if PeriodicTask.objects.filter(name=entry.name).exists():
            continue
        timing = {}
        if entry.every_seconds:
            timing["interval"], _ = IntervalSchedule.objects.get_or_create(
                every=entry.every_seconds, period="seconds"
            )
        else:
            minute, hour, day_of_month, month_of_year, day_of_week = entry.crontab.split()
            timing["crontab"], _ = CrontabSchedule.objects.get_or_create(
                minute=minute,
                hour=hour,
                day_of_month=day_of_month,
                month_of_year=month_of_year,
                day_of_week=day_of_week,
                timezone="Asia/Kolkata",
            )
        PeriodicTask.objects.create(
            name=entry.name,
            task=entry.task,
            queue=entry.queue,
            description=entry.description,
            kwargs=json.dumps(entry.kwargs or {}),
            **timing,
        )
        created.append(entry.name)
    return created


def _clock_time(minute: str, hour: str) -> str | None:
    """ "HH:MM" when the crontab fires once an hour-and-minute, else None."""
    if minute.isdigit() and hour.isdigit():
        return f"{int(hour):02d}:{int(minute):02d}"
    return None


def schedule_describe(task) -> str:
    """A periodic task's timing as a person says it: "daily at 23:55 IST", "every 60 seconds"."""
    if task.interval_id:
        return str(task.interval)
    cron = task.crontab
    if cron is None:
        return "at a clocked or solar time" if task.clocked_id or task.solar_id else "never"
    zone = "IST" if str(cron.timezone) == "Asia/Kolkata" else str(cron.timezone)
    at = _clock_time(cron.minute, cron.hour)
    days = (cron.day_of_month, cron.month_of_year, cron.day_of_week)
    if at and days == ("*", "*", "*"):
        return f"daily at {at} {zone}"
    if at and days == ("*", "*", "1-5"):
        return f"weekdays at {at} {zone}"
    if at and days[1:] == ("*", "*") and days[0].isdigit():
        return f"monthly on day {days[0]} at {at} {zone}"
    return cron.human_readable


def schedule_next_run(task, now: datetime) -> datetime | None:
    """When beat next runs ``task`` (enabled crontab or interval schedules), or None."""
    if not task.enabled:
        return None
    if task.crontab_id:
        zone = task.crontab.timezone
        return task.crontab.due_start_time(now, zone)
    if task.interval_id:
        every = task.interval.schedule.run_every
        return max(now, (task.last_run_at or now) + every)
    return None
