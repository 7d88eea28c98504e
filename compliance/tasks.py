"""Celery tasks of the compliance app (queue ``maintenance``)."""

from celery import shared_task


@shared_task(name="compliance.tasks.audit_checkpoint")
def audit_checkpoint() -> dict:
    """Verify the audit trail since the last checkpoint, then checkpoint its head (daily)."""
    from compliance.services import audit_checkpoint as checkpoint

    made = checkpoint()
    return {"checkpoint": made.pk, "chains": len(made.heads), "events": made.events}
