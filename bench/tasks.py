"""The no-op task of the accept-to-fill baseline: it only records that it ran."""

from celery import shared_task
from django.utils import timezone


@shared_task(name="bench.tasks.touch")
def touch(token: str) -> None:
    from marketdata.models import AccessSample

    AccessSample.objects.create(at=timezone.now(), keys=[token], client="bench-done")
