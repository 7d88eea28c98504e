"""Verification of the audit trail's hash chain, streamed in seq order in batches.

Every event's hash is recomputed, every ``prev_hash`` must name the event before it,
seq must run without gaps, and the chain head must name the last event. The first
broken link is reported with its seq and the reason.

The head is read first and only events up to it are checked, so events appended while
verification runs are left for the next run rather than reported as broken.
"""

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Max

from compliance.chain import GENESIS_HASH, HASHED_FIELDS, event_hash
from compliance.models import AuditChainHead, AuditCheckpoint, AuditEvent

if TYPE_CHECKING:
    from ops.progress import JobProgress

CHUNK_SIZE = 5000
_COLUMNS = (*HASHED_FIELDS, "hash")


@dataclass(frozen=True)
class VerifyResult:
    """What one verification found. ``checked`` counts the events verified after the start."""

    ok: bool
    checked: int
    start_seq: int
    last_seq: int
    last_hash: str
    seconds: float
    broken_seq: int | None = None
    reason: str = ""
    checkpoint_id: int | None = None

    def __str__(self) -> str:
        since = f" since the checkpoint at seq {self.start_seq}" if self.checkpoint_id else ""
        took = f"in {self.seconds:.2f} s"
        if self.ok:
            span = f" (seq {self.start_seq + 1}-{self.last_seq})" if self.checked else ""
            return f"Audit chain intact: {self.checked:,} events checked{span}{since} {took}."
        where = f" at seq {self.broken_seq}" if self.broken_seq is not None else ""
        return (
            f"Audit chain BROKEN{where}: {self.reason} "
            f"({self.checked:,} events good before it{since}, {took})."
        )


class _Walk:
    """The state of one pass along the chain."""

    def __init__(self, start_seq: int, start_hash: str, checkpoint_id: int | None) -> None:
        self.started = time.monotonic()
        self.start_seq = start_seq
        self.checkpoint_id = checkpoint_id
        self.seq, self.hash, self.checked = start_seq, start_hash, 0

    def result(self, broken_seq: int | None = None, reason: str = "") -> VerifyResult:
        return VerifyResult(
            ok=not reason,
            checked=self.checked,
            start_seq=self.start_seq,
            last_seq=self.seq,
            last_hash=self.hash,
            seconds=time.monotonic() - self.started,
            broken_seq=broken_seq,
            reason=reason,
            checkpoint_id=self.checkpoint_id,
        )

    def step(self, event: dict) -> VerifyResult | None:
        """Check the next event against the last good one; a failed result if it breaks."""
        expected = self.seq + 1
        if event["seq"] != expected:
            return self.result(expected, f"seq {expected} is missing")
        if event["prev_hash"] != self.hash:
            return self.result(expected, f"prev_hash does not match event {self.seq}")
        if event_hash(event) != event["hash"]:
            return self.result(expected, "hash does not match the event's contents")
        self.seq, self.hash = event["seq"], event["hash"]
        self.checked += 1
        return None


def _anchor_problem(checkpoint: AuditCheckpoint) -> str:
    """Why the checkpoint's own event no longer matches it, or ""."""
    event = AuditEvent.objects.filter(seq=checkpoint.seq).values(*_COLUMNS).first()
    if event is None:
        return f"seq {checkpoint.seq} is missing"
    if event["hash"] != checkpoint.hash:
        return f"event {checkpoint.seq} no longer has the hash of checkpoint {checkpoint.pk}"
    if event_hash(event) != event["hash"]:
        return "hash does not match the event's contents"
    return ""


def audit_verify(
    *,
    since_checkpoint: AuditCheckpoint | None = None,
    progress: "JobProgress | None" = None,
    chunk_size: int = CHUNK_SIZE,
) -> VerifyResult:
    """Verify the chain, from the start or from a checkpoint; report the first broken link.

    ``progress`` (an ``ops.progress.JobProgress``) is given the total and advanced in
    batches.
    """
    checkpoint = since_checkpoint
    start_seq = checkpoint.seq if checkpoint else 0
    start_hash = checkpoint.hash if checkpoint else GENESIS_HASH
    walk = _Walk(start_seq, start_hash, checkpoint.pk if checkpoint else None)
    if checkpoint is not None and checkpoint.seq > 0 and (problem := _anchor_problem(checkpoint)):
        return walk.result(checkpoint.seq, problem)

    head = AuditChainHead.objects.filter(pk=1).values("seq", "hash").first()
    events = AuditEvent.objects.filter(seq__gt=start_seq).order_by("seq")
    if head is not None:
        events = events.filter(seq__lte=head["seq"])
        if progress is not None:
            progress.set_total(max(head["seq"] - start_seq, 0))
    for row in events.values_list(*_COLUMNS).iterator(chunk_size=chunk_size):
        if broken := walk.step(dict(zip(_COLUMNS, row, strict=True))):
            return broken
        if progress is not None and walk.checked % chunk_size == 0:
            progress.advance(chunk_size)
    if progress is not None:
        progress.advance(walk.checked % chunk_size)
    return _check_head(walk, head)


def _check_head(walk: _Walk, head: dict | None) -> VerifyResult:
    """The head read before the walk must name its last event; no event may lie beyond it."""
    if head is None:
        if walk.seq > 0:
            return walk.result(None, "the chain head row is missing")
        return walk.result()
    if head["seq"] > walk.seq:
        return walk.result(walk.seq + 1, f"seq {walk.seq + 1} is missing")
    if head["seq"] == walk.seq and head["hash"] != walk.hash:
        return walk.result(walk.seq, f"the chain head's hash does not match event {walk.seq}")
    # Read the newest event before the head again: a writer commits both together.
    newest = AuditEvent.objects.aggregate(seq=Max("seq"))["seq"] or 0
    now = AuditChainHead.objects.filter(pk=1).values_list("seq", flat=True).first() or 0
    if newest > now:
        return walk.result(now + 1, f"event {now + 1} lies beyond the chain head (seq {now})")
    return walk.result()
