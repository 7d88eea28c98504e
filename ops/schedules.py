"""Default beat schedules, installed into django-celery-beat's tables.

Only missing entries are created, so a schedule edited or disabled in the admin
keeps its edits across restarts and migrations. Apps add their entries here.
"""

from dataclasses import dataclass

from django.apps import apps as global_apps


@dataclass(frozen=True)
class DefaultSchedule:
    name: str
    task: str
    every_seconds: int | None = None
    crontab: str | None = None  # "minute hour day_of_month month_of_year day_of_week", IST
    queue: str | None = None
    description: str = ""


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
            **timing,
        )
        created.append(entry.name)
    return created
