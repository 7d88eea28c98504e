"""Celery tasks of the market-data app (queue ``marketdata``): warming, prefetching, pruning."""

from celery import shared_task
from celery.signals import worker_ready

from marketdata import calendar


@shared_task(name="marketdata.tasks.warm_price_cache")
def warm_price_cache() -> dict:
    from marketdata.services import cache_warm

    return cache_warm()


@shared_task(name="marketdata.tasks.prefetch")
def prefetch() -> dict:
    if not calendar.is_open():
        return {"prefetched": 0, "reason": "market closed"}
    from marketdata.prefetch_service import prefetch_run

    return prefetch_run()


@shared_task(name="marketdata.tasks.prune_access_samples")
def prune_access_samples() -> int:
    from marketdata.prefetch_service import access_prune

    return access_prune()


@worker_ready.connect
def _warm_when_a_worker_starts(sender, **kwargs) -> None:
    warm_price_cache.apply_async()
