"""The officers' writes on retention: policy changes, legal holds and the purge four-eyes.

Each is one transaction with its audit event. A policy never drops below the floor; a hold
is placed and released (never deleted); a purge is requested by one officer and approved by
a different one, only once retention has ended and no legal hold covers the month.
"""

import datetime as dt

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone

from compliance.cases.models import Case
from compliance.models import Client
from compliance.retention.errors import ArchiveRefused
from compliance.retention.holds import held_chains, held_objects
from compliance.retention.models import (
    RETENTION_FLOOR_YEARS,
    ArchiveRun,
    ArchiveStatus,
    LegalHold,
    RetentionPolicy,
)
from compliance.retention.verify import manifest_read
from compliance.services import audit_record

ARCHIVE_PERMISSION = "compliance.archive_records"
PURGE_PERMISSION = "compliance.purge_archive"


def _require(actor: AbstractBaseUser | None, perm: str, doing: str) -> None:
    if actor is None or not actor.is_active or not actor.has_perm(perm):
        who = actor.get_username() if actor is not None else "nobody"
        raise ArchiveRefused(f"{who} may not {doing} (needs {perm})")


def _text(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ArchiveRefused(f"a {what} is required")
    return value


def retention_policy_change(
    *, policy: RetentionPolicy, retention_years: int, online_months: int, actor: AbstractBaseUser
) -> RetentionPolicy:
    """Change how long ``policy``'s kind is kept and stays online; never below the floor."""
    _require(actor, "compliance.change_retentionpolicy", "change a retention policy")
    if retention_years < RETENTION_FLOOR_YEARS:
        raise ArchiveRefused(
            f"{policy.kind} is kept {RETENTION_FLOOR_YEARS} years at least, not {retention_years}"
        )
    if online_months < 1:
        raise ArchiveRefused("a month stays online one month at least")
    with transaction.atomic():
        locked = RetentionPolicy.objects.select_for_update(of=("self",)).get(pk=policy.pk)
        before = {"retention_years": locked.retention_years, "online_months": locked.online_months}
        locked.retention_years, locked.online_months = retention_years, online_months
        locked.save(update_fields=["retention_years", "online_months", "updated_at"])
        audit_record(
            action="retention.policy_changed",
            obj=locked,
            actor=actor,
            before=before,
            after={"retention_years": retention_years, "online_months": online_months},
        )
    return locked


def legal_hold_place(
    *,
    reason: str,
    actor: AbstractBaseUser,
    client: Client | None = None,
    case: Case | None = None,
) -> LegalHold:
    """Place a legal hold on ``client`` or on ``case`` (one of them): archival and purge of
    what it covers are refused until it is released."""
    _require(actor, "compliance.add_legalhold", "place a legal hold")
    if (client is None) == (case is None):
        raise ArchiveRefused("a legal hold is on a client or on a case, one of them")
    reason = _text(reason, "reason for the hold")
    with transaction.atomic():
        hold = LegalHold.objects.create(client=client, case=case, reason=reason, placed_by=actor)
        audit_record(
            action="retention.hold_placed",
            obj=hold,
            actor=actor,
            after={"client": hold.client_id, "case": hold.case_id, "reason": reason},
        )
    return hold


def legal_hold_release(*, hold: LegalHold, reason: str, actor: AbstractBaseUser) -> LegalHold:
    """Release a hold in force; the hold stays on record."""
    _require(actor, "compliance.change_legalhold", "release a legal hold")
    reason = _text(reason, "reason for the release")
    with transaction.atomic():
        locked = LegalHold.objects.select_for_update(of=("self",)).get(pk=hold.pk)
        if not locked.active:
            raise ArchiveRefused(f"legal hold {locked.pk} is released already")
        locked.released_by, locked.released_at = actor, timezone.now()
        locked.release_reason = reason
        locked.save(update_fields=["released_by", "released_at", "release_reason"])
        audit_record(action="retention.hold_released", obj=locked, actor=actor,
                     after={"reason": reason})  # fmt: skip
    return locked


def purge_refusals(run: ArchiveRun, today: dt.date | None = None) -> list[str]:
    """Every reason ``run``'s archive may not be purged now (empty: it may)."""
    today = today or timezone.now().date()
    reasons = []
    if run.status != ArchiveStatus.RELEASED:
        reasons.append(f"archive run {run.pk} is {run.get_status_display().lower()}")
    policy = RetentionPolicy.objects.get(kind=run.kind)
    until = policy.retained_until(run.month)
    if today < until:
        reasons.append(f"{run.month:%Y-%m} is kept {policy.retention_years} years, until {until}")
    chains = set(run.bounds)
    reasons += [
        f"chain {chain} is under {hold.described}"
        for chain, hold in sorted(held_chains().items())
        if chain in chains
    ]
    if held_objects() and run.kind == "audit_events":
        # Whether an archived event is about a held client or case is only in the files:
        # while any hold is in force, no audit archive is purged (conservative).
        holds = sorted({hold.described for hold in held_objects().values()})
        reasons.append(f"{', '.join(holds)} in force")
    return reasons


def archive_purge_request(
    *, run: ArchiveRun, actor: AbstractBaseUser, today: dt.date | None = None
) -> ArchiveRun:
    """The first officer asks to purge ``run``'s archive after its retention."""
    _require(actor, PURGE_PERMISSION, "request a purge")
    with transaction.atomic():
        locked = ArchiveRun.objects.select_for_update(of=("self",)).get(pk=run.pk)
        reasons = purge_refusals(locked, today)
        if locked.purge_requested_by_id:
            reasons.append(f"its purge was requested already by {locked.purge_requested_by}")
        if reasons:
            raise ArchiveRefused(f"archive run {locked.pk} not purged: " + "; ".join(reasons))
        locked.purge_requested_by, locked.purge_requested_at = actor, timezone.now()
        locked.save(update_fields=["purge_requested_by", "purge_requested_at"])
        audit_record(action="archive.purge_requested", obj=locked, actor=actor)
    return locked


def archive_purge_approve(
    *, run: ArchiveRun, actor: AbstractBaseUser, today: dt.date | None = None
) -> ArchiveRun:
    """A second officer approves the purge: the archive's files are deleted, the run stays
    on record, marked purged. Refused to the officer who requested it.

    Three steps, no lock held across the storage: the approval commits (audited), the files
    are deleted, then the run is marked purged. If the storage refuses (an S3 Object Lock
    still in force), the run stays released with its approval recorded, and approving it
    again, by the same approver, retries the deletion."""
    _require(actor, PURGE_PERMISSION, "approve a purge")
    with transaction.atomic():
        locked = ArchiveRun.objects.select_for_update(of=("self",)).get(pk=run.pk)
        reasons = purge_refusals(locked, today)
        retry = locked.purge_approved_by_id == actor.pk and locked.purged_at is None
        if not locked.purge_requested_by_id:
            reasons.append("no officer has requested its purge")
        elif locked.purge_requested_by_id == actor.pk:
            reasons.append(f"{actor.get_username()} requested it: a second officer approves")
        elif locked.purge_approved_by_id and not retry:
            reasons.append(f"its purge was approved already by {locked.purge_approved_by}")
        if reasons:
            raise ArchiveRefused(f"archive run {locked.pk} not purged: " + "; ".join(reasons))
        if not retry:
            locked.purge_approved_by, locked.purge_approved_at = actor, timezone.now()
            locked.save(update_fields=["purge_approved_by", "purge_approved_at"])
            audit_record(action="archive.purge_approved", obj=locked, actor=actor,
                         after={"manifest_sha256": locked.manifest_sha256})  # fmt: skip
    # The manifest is kept (small, and it holds the bounds the audit trail starts from).
    manifest = manifest_read(locked)
    storage = storages[locked.storage]
    for entry in manifest["files"]:
        if not storage.exists(entry["name"]):
            continue  # deleted by an earlier attempt
        try:
            storage.delete(entry["name"])
        except Exception as error:  # the storage's own refusal (S3 Object Lock, permissions)
            raise ArchiveRefused(
                f"archive run {locked.pk}: the storage refused to delete {entry['name']} "
                f"({error}); the approval stands, approve again to retry"
            ) from error
    with transaction.atomic():
        locked = ArchiveRun.objects.select_for_update(of=("self",)).get(pk=run.pk)
        locked.status, locked.purged_at = ArchiveStatus.PURGED, timezone.now()
        locked.save(update_fields=["status", "purged_at"])
        audit_record(action="archive.purged", obj=locked, actor=actor,
                     after={"files": [e["name"] for e in manifest["files"]]})  # fmt: skip
    return locked
