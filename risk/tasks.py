"""Celery tasks of the risk app."""

from celery import shared_task

from marketdata import calendar


@shared_task(name="risk.tasks.run_monitors")
def run_monitors() -> dict:
    if not calendar.is_open():
        return {"checked": 0, "tripped": [], "reason": "market closed"}
    from risk.monitors import monitors_run

    return monitors_run()
