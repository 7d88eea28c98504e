"""Celery tasks of the strategies app (queue ``backtests``): thin, they take ids."""

from celery import shared_task
from django.db import InterfaceError, OperationalError


@shared_task(
    bind=True,
    name="strategies.tasks.backtest_run",
    autoretry_for=(OperationalError, InterfaceError, ConnectionError, TimeoutError),
    retry_backoff=True,
    max_retries=3,
)
def backtest_run(self, run_id: int) -> dict:
    """Run one queued backtest; a transient error (a lost connection) is retried with
    backoff, and the last attempt fails the run. Safe to run twice: a finished run is left
    as it is."""
    from strategies.services import backtest_execute

    last = self.request.retries >= self.max_retries
    run = backtest_execute(run_id, retry_transient=not last)
    return {"run": run.pk, "status": run.status, "bars": run.bar_count}
