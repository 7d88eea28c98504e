"""Maintenance tasks of the ops app."""

import socket

from celery import shared_task
from django.utils import timezone


@shared_task(name="ops.tasks.heartbeat")
def heartbeat() -> dict:
    """Record that a worker is alive; its result row is what /ready reports."""
    return {"host": socket.gethostname(), "at": timezone.now().isoformat()}
