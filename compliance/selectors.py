"""Reads of the compliance app that other code shares: the audit trail and its checkpoints."""

from datetime import datetime

from django.db.models import Q, QuerySet

from compliance.models import AuditCheckpoint, AuditEvent


def audit_events(
    *,
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    actor: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    """Audit events, newest first, filtered by whichever arguments are given.

    ``actor`` is a username, or a user id when it is all digits; ``since`` is inclusive
    and ``until`` exclusive.
    """
    events = AuditEvent.objects.order_by("-seq")
    if action:
        events = events.filter(action=action)
    if object_type:
        events = events.filter(object_type=object_type)
    if object_id:
        events = events.filter(object_id=object_id)
    if actor:
        by_actor = Q(actor_username=actor)
        if actor.isdigit():
            by_actor |= Q(actor_id=int(actor))
        events = events.filter(by_actor)
    if since is not None:
        events = events.filter(occurred_at__gte=since)
    if until is not None:
        events = events.filter(occurred_at__lt=until)
    return events


def audit_checkpoint_latest() -> AuditCheckpoint | None:
    """The most recent checkpoint (the one with the highest seq), if there is one."""
    return AuditCheckpoint.objects.order_by("-seq", "-id").first()
