"""Reads of the compliance app that other code shares: the audit trail, its chains' heads
and its checkpoints."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from compliance.models import AuditChain, AuditCheckpoint, AuditEvent

#: The beat task that checkpoints the trail (compliance.tasks; scheduled in ops.schedules).
CHECKPOINT_TASK = "compliance.tasks.audit_checkpoint"


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
    events = AuditEvent.objects.order_by("-id")
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


def audit_heads() -> dict[str, tuple[int, str]]:
    """Every chain's head as ``{chain: (seq, hash)}``, read in one query."""
    rows = AuditChain.objects.values_list("key", "seq", "hash")
    return {key: (seq, hash_) for key, seq, hash_ in rows}


def audit_checkpoint_latest() -> AuditCheckpoint | None:
    """The most recent checkpoint, if there is one."""
    return AuditCheckpoint.objects.order_by("-id").first()


@dataclass(frozen=True)
class CheckpointSchedule:
    """When the trail is checkpointed, and the last checkpoint made.

    ``timing`` is None when no periodic task runs the checkpoint; ``next_run`` is None
    when that task is disabled.
    """

    timing: str | None
    enabled: bool
    next_run: datetime | None
    last: AuditCheckpoint | None


def audit_checkpoint_schedule(*, now: datetime | None = None) -> CheckpointSchedule:
    """The checkpoint task's schedule in django-celery-beat, and the latest checkpoint."""
    from django_celery_beat.models import PeriodicTask

    from ops.schedules import schedule_describe, schedule_next_run

    now = now or timezone.now()
    tasks = PeriodicTask.objects.filter(task=CHECKPOINT_TASK).select_related("crontab", "interval")
    task = tasks.order_by("-enabled", "pk").first()
    last = audit_checkpoint_latest()
    if task is None:
        return CheckpointSchedule(timing=None, enabled=False, next_run=None, last=last)
    return CheckpointSchedule(
        timing=schedule_describe(task),
        enabled=task.enabled,
        next_run=schedule_next_run(task, now),
        last=last,
    )


def released_bounds() -> dict[str, tuple[int, str]]:
    """Per chain, the last seq and hash of the events released to the archive."""
    from compliance.retention.models import ArchiveRun, ArchiveStatus, RecordKind

    bounds: dict[str, tuple[int, str]] = {}
    runs = ArchiveRun.objects.filter(kind=RecordKind.AUDIT_EVENTS).exclude(
        status=ArchiveStatus.ARCHIVED
    )
    for bound in runs.values_list("bounds", flat=True):
        for chain, (_first, last, last_hash) in bound.items():
            if last > bounds.get(chain, (0, ""))[0]:
                bounds[chain] = (last, last_hash)
    return bounds
