"""Maintenance tasks of the ops app."""

import socket

from celery import shared_task
from django.utils import timezone


@shared_task(name="ops.tasks.heartbeat")
def heartbeat() -> dict:
    """Record that a worker is alive; its result row is what /ready reports."""
    return {"host": socket.gethostname(), "at": timezone.now().isoformat()}


@shared_task(name="ops.tasks.rotate_secrets")
def rotate_secrets(only: list[str] | None = None, dry_run: bool = False) -> list[dict]:
    """Rotate secrets (all steps by default); see ops.rotation. Each step audits itself."""
    from ops.rotation import secrets_rotate

    return [result.as_dict() for result in secrets_rotate(only=only, dry_run=dry_run)]
