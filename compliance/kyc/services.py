"""Writes of KYC: applications, document uploads, IPV, the state machine with maker-checker,
the KRA, the risk category and periodic re-KYC. Each change is audited in its transaction.

The client's ``kyc_status`` is derived here alone (:func:`_client_kyc_apply`): "verified"
only once the application is approved and the KRA says "KYC Validated". The KRA is called
outside any transaction (``orders.locks``): approval enqueues :func:`kyc_kra_sync` on commit.
"""

import calendar
import hashlib
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import filetype
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from compliance.assignment import queue_assign
from compliance.kyc.choices import (
    OPEN_STATES,
    REQUIRED_DOCUMENTS,
    TRANSITIONS,
    ApplicationStatus,
    DocumentKind,
    KraStatus,
    ReKycStatus,
)
from compliance.kyc.kra import KraRecord, kra_adapter
from compliance.kyc.models import (
    KycApplication,
    KycDocument,
    KycRiskRule,
    ReKycDue,
    ReKycInterval,
)
from compliance.kyc.risk import risk_assess
from compliance.models import Client
from compliance.screening.selectors import hits_unresolved
from compliance.services import audit_record, audited_atomic
from tradingsite.errors import DomainError

logger = logging.getLogger(__name__)
S = ApplicationStatus

#: The document types accepted, by their content: MIME type -> extension stored.
ALLOWED_TYPES = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
#: Days before a re-KYC falls due that it is raised into the queue.
REKYC_NOTICE_DAYS = 30
#: What an officer may still edit, in a draft: the application's declared data.
EDITABLE_FIELDS = (
    "name", "pan", "date_of_birth", "aadhaar_last4", "address", "state", "country", "mobile",
    "email", "bank_account_number", "bank_ifsc", "income_range", "occupation", "net_worth",
    "expected_annual_turnover", "fatca_us_person", "tax_residency_country", "pep",
    "nominee_name", "nominee_relation",
)  # fmt: skip


class KycRefused(DomainError):
    """A KYC move that the rules do not allow; nothing was changed."""

    problem_type = "conflict"


class KycMakerCheckerRefused(KycRefused):
    """The officer who verified an application cannot also approve or reject it."""


class KycPermissionDenied(KycRefused):
    problem_type = "permission-denied"


class KycDocumentRefused(DomainError):
    """An upload that is not an acceptable document; nothing was stored."""

    problem_type = "validation-error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, errors={"file": [detail]})


def _who(actor: AbstractBaseUser | None) -> str:
    return actor.get_username() if actor is not None else "system"


def _snapshot(application: KycApplication) -> dict[str, Any]:
    return {
        "status": application.status,
        "verified_by": application.verified_by_id,
        "decided_by": application.decided_by_id,
        "risk_category": application.risk_category,
        "kra_status": application.kra_status,
    }


def _locked(application: KycApplication) -> KycApplication:
    return KycApplication.objects.select_for_update(of=("self",)).get(pk=application.pk)


# --- Applications ------------------------------------------------------------------------


def kyc_application_create(
    *, client: Client, actor: AbstractBaseUser | None, **fields: Any
) -> KycApplication:
    """A new draft application for ``client`` (``fields`` are its declared data), audited."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not fields of a KYC application: {sorted(unknown)}")
    fields.setdefault("name", client.name)
    fields.setdefault("pan", client.pan)
    application = KycApplication(client=client, **fields)
    application.full_clean()
    _same_pan(application, client)
    with audited_atomic():
        application.save()
        audit_record(
            action="kyc.application_created", obj=application, actor=actor,
            after={"client": client.pk, "status": application.status},
        )  # fmt: skip
        _client_kyc_apply(application, actor=actor)
    return application


def kyc_application_update(
    *, application: KycApplication, actor: AbstractBaseUser | None, changes: dict[str, Any]
) -> KycApplication:
    """Change a draft's declared data; once submitted it is what the officers check."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise KycRefused(f"these fields cannot be changed: {', '.join(sorted(unknown))}")
    with audited_atomic():
        current = _locked(application)
        if current.status != S.DRAFT:
            raise KycRefused(
                f"Application {current.pk} is {current.get_status_display()}: only a draft "
                "can be changed; put it on hold or reject it instead."
            )
        for name, value in changes.items():
            setattr(current, name, value)
        current.full_clean()
        _same_pan(current, current.client)
        current.save()
        audit_record(
            action="kyc.application_changed", obj=current, actor=actor,
            after={"fields": sorted(changes)},
        )  # fmt: skip
    return current


def _same_pan(application: KycApplication, client: Client) -> None:
    if Client.pan_index(application.pan) != client.pan_digest:
        raise KycRefused(
            f"The application's PAN is not {client.name}'s: a client's PAN is their identity."
        )


# --- Documents ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentCheck:
    content_type: str
    extension: str
    sha256: str
    size: int
    content: bytes


def kyc_document_check(*, upload, max_bytes: int | None = None) -> DocumentCheck:
    """What ``upload`` (a Django ``UploadedFile`` or any file object) is, by its content;
    raises :class:`KycDocumentRefused` naming the problem for an empty, oversized or
    wrongly typed file (a renamed executable is refused by what it is, not its name)."""
    limit = settings.KYC_DOCUMENT_MAX_BYTES if max_bytes is None else max_bytes
    name = getattr(upload, "name", "") or "the file"
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise KycDocumentRefused(
            f"{name} is {size:,} bytes; the largest document accepted is {limit:,} bytes."
        )
    upload.seek(0)
    content = upload.read(limit + 1)
    if not content:
        raise KycDocumentRefused(f"{name} is empty: upload the scanned document itself.")
    if len(content) > limit:
        raise KycDocumentRefused(f"{name} is over {limit:,} bytes, the largest document accepted.")
    kind = filetype.guess(content)
    mime = kind.mime if kind is not None else None
    if mime not in ALLOWED_TYPES:
        what = f"a {kind.extension.upper()} file ({mime})" if kind else "of no known type"
        raise KycDocumentRefused(
            f"{name} is {what} by its content; a KYC document must be a PDF, JPEG or PNG."
        )
    return DocumentCheck(
        content_type=mime, extension=ALLOWED_TYPES[mime], size=len(content),
        sha256=hashlib.sha256(content).hexdigest(), content=content,
    )  # fmt: skip


def kyc_document_upload(
    *, application: KycApplication, kind: str, upload, actor: AbstractBaseUser | None
) -> KycDocument:
    """Check ``upload`` and store it (the ``kyc`` storage) with its row and audit event.
    A refused file stores nothing: no file, no row."""
    kind = DocumentKind(kind)
    checked = kyc_document_check(upload=upload)
    if application.status not in (S.DRAFT, S.SUBMITTED, S.UNDER_REVIEW, S.ON_HOLD):
        raise KycRefused(
            f"Application {application.pk} is {application.get_status_display()}: documents "
            "cannot be added once it is verified or decided."
        )
    original = (getattr(upload, "name", "") or "upload")[-200:]
    document = KycDocument(
        application=application, kind=kind, original_name=original,
        content_type=checked.content_type, size=checked.size, sha256=checked.sha256,
        uploaded_by=actor,
    )  # fmt: skip
    filename = f"{kind}-{checked.sha256[:16]}.{checked.extension}"
    try:
        with audited_atomic():
            document.file.save(filename, ContentFile(checked.content), save=False)
            document.save()
            audit_record(
                action="kyc.document_uploaded", obj=application, actor=actor,
                after={"document": document.pk, "kind": kind, "sha256": checked.sha256,
                       "size": checked.size, "content_type": checked.content_type},
            )  # fmt: skip
    except BaseException:
        if document.file.name:
            document.file.storage.delete(document.file.name)
        raise
    return document


def kyc_document_viewed(*, document: KycDocument, actor: AbstractBaseUser | None) -> None:
    """Record that ``actor`` opened a KYC document (PII: who read it is on the trail)."""
    audit_record(
        action="kyc.document_viewed", obj=document.application, actor=actor,
        after={"document": document.pk, "kind": document.kind},
    )  # fmt: skip


# --- In-person verification --------------------------------------------------------------


def kyc_ipv_record(
    *, application: KycApplication, actor: AbstractBaseUser, on: date | None = None
) -> KycApplication:
    """Record the in-person verification ``actor`` did on ``on`` (today by default)."""
    _require(actor, "compliance.review_kyc", "record an in-person verification")
    with audited_atomic():
        current = _locked(application)
        if current.status not in (S.DRAFT, S.SUBMITTED, S.UNDER_REVIEW, S.ON_HOLD):
            raise KycRefused(
                f"Application {current.pk} is {current.get_status_display()}: IPV is recorded "
                "before it is verified."
            )
        current.ipv_done, current.ipv_on, current.ipv_by = True, on or timezone.localdate(), actor
        current.save(update_fields=["ipv_done", "ipv_on", "ipv_by", "updated_at"])
        audit_record(
            action="kyc.ipv_recorded", obj=current, actor=actor,
            after={"ipv_on": current.ipv_on.isoformat(), "ipv_by": _who(actor)},
        )  # fmt: skip
    return current


# --- The state machine -------------------------------------------------------------------


def _require(actor: AbstractBaseUser | None, perm: str, what: str) -> None:
    if actor is None or not actor.has_perm(perm):
        raise KycPermissionDenied(f"{_who(actor)} may not {what}: it needs {perm}.")


def _check_move(current: KycApplication, to: str, actor, reason: str) -> None:
    """The rules of one move beyond the table: documents, IPV, reasons, maker-checker."""
    if to == S.SUBMITTED:
        present = set(current.documents.values_list("kind", flat=True))
        missing = [DocumentKind(k).label for k in REQUIRED_DOCUMENTS if k not in present]
        if missing:
            raise KycRefused(
                f"Application {current.pk} cannot be submitted without: {', '.join(missing)}."
            )
    if to == S.VERIFIED and not current.ipv_done:
        raise KycRefused(
            f"Application {current.pk} cannot be verified before its in-person verification."
        )
    if to in (S.ON_HOLD, S.REJECTED) and not reason.strip():
        raise KycRefused(f"Say why application {current.pk} is {S(to).label.lower()}.")
    if to == S.APPROVED and (unresolved := hits_unresolved(client_id=current.client_id)):
        found = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in unresolved.items())
        raise KycRefused(
            f"Application {current.pk} cannot be approved: the client has AML screening hits "
            f"({found}); dispose of them first (a true match is never approved)."
        )
    if to in (S.APPROVED, S.REJECTED) and current.verified_by_id == actor.pk:
        raise KycMakerCheckerRefused(
            f"Maker-checker: {_who(actor)} verified application {current.pk}, so a second "
            f"officer must {'approve' if to == S.APPROVED else 'reject'} it."
        )


def kyc_transition(
    *, application: KycApplication, to: str, actor: AbstractBaseUser, reason: str = ""
) -> KycApplication:
    """Move ``application`` to ``to`` if the table allows it and ``actor`` may; apply the
    move's rules, update the client's KYC state and audit it, in one transaction. An illegal
    move raises :class:`KycRefused` and changes nothing."""
    to = S(to)
    with audited_atomic():
        current = _locked(application)
        move = (current.status, to)
        if move not in TRANSITIONS:
            raise KycRefused(
                f"Application {current.pk} is {current.get_status_display()}; it cannot move "
                f"to {to.label}."
            )
        _require(actor, TRANSITIONS[move], f"move a KYC application to {to.label}")
        _check_move(current, to, actor, reason)
        before = _snapshot(current)
        now = timezone.now()
        current.status = to
        if to == S.SUBMITTED:
            current.submitted_at = now
            client_id = current.client_id
            transaction.on_commit(lambda: _screen_enqueue(client_id))
        elif to == S.VERIFIED:
            current.verified_by, current.verified_at = actor, now
        elif to == S.ON_HOLD:
            current.hold_reason = reason.strip()
        elif to in (S.APPROVED, S.REJECTED):
            current.decided_by, current.decided_at = actor, now
            if to == S.REJECTED:
                current.rejection_reason = reason.strip()
            else:
                _risk_apply(current)
        current.save()
        audit_record(
            action=f"kyc.{to}", obj=current, actor=actor, before=before,
            after={**_snapshot(current), **({"reason": reason.strip()} if reason else {})},
        )  # fmt: skip
        _client_kyc_apply(current, actor=actor)
        if to == S.APPROVED:
            ReKycDue.objects.filter(client_id=current.client_id, status=ReKycStatus.DUE).update(
                status=ReKycStatus.DONE, closed_at=now
            )
            transaction.on_commit(lambda: _kra_sync_enqueue(current.pk))
    return current


def _screen_enqueue(client_id: int) -> None:
    """Screen the client against every list (its DOB and nationality now known)."""
    from compliance.tasks import client_screen

    client_screen.delay(client_id)


def _kra_sync_enqueue(application_id: int) -> None:
    from compliance.tasks import kyc_kra_sync

    kyc_kra_sync.delay(application_id)


# Thin names for the moves, as officers say them.
def kyc_submit(*, application: KycApplication, actor: AbstractBaseUser) -> KycApplication:
    return kyc_transition(application=application, to=S.SUBMITTED, actor=actor)


def kyc_review_start(*, application: KycApplication, actor: AbstractBaseUser) -> KycApplication:
    return kyc_transition(application=application, to=S.UNDER_REVIEW, actor=actor)


def kyc_verify(*, application: KycApplication, actor: AbstractBaseUser) -> KycApplication:
    return kyc_transition(application=application, to=S.VERIFIED, actor=actor)


def kyc_approve(*, application: KycApplication, actor: AbstractBaseUser) -> KycApplication:
    return kyc_transition(application=application, to=S.APPROVED, actor=actor)


def kyc_reject(
    *, application: KycApplication, actor: AbstractBaseUser, reason: str
) -> KycApplication:
    return kyc_transition(application=application, to=S.REJECTED, actor=actor, reason=reason)


def kyc_hold(
    *, application: KycApplication, actor: AbstractBaseUser, reason: str
) -> KycApplication:
    return kyc_transition(application=application, to=S.ON_HOLD, actor=actor, reason=reason)


# --- The client's KYC state, derived -----------------------------------------------------


def _client_kyc_status(application: KycApplication, client: Client) -> str | None:
    K = Client.KycStatus
    if application.status == S.APPROVED:
        return K.VERIFIED if application.kra_status == KraStatus.VALIDATED else K.KRA_PENDING
    if application.status == S.REJECTED:
        return K.REJECTED
    if application.status in OPEN_STATES:
        # A re-KYC under way does not stop a verified client (the due date does).
        return None if client.kyc_status == K.VERIFIED else K.UNDER_REVIEW
    return None


def _client_kyc_apply(application: KycApplication, *, actor) -> None:
    """Set the client's KYC fields from ``application``, audited when they change."""
    client = Client.objects.get(pk=application.client_id)
    changes: dict[str, Any] = {}
    status = _client_kyc_status(application, client)
    if status is not None and status != client.kyc_status:
        changes["kyc_status"] = status
        if status == Client.KycStatus.VERIFIED:
            changes["kyc_verified_at"] = timezone.now()
    if application.status == S.APPROVED:
        changes.update(
            kra_status=application.kra_status,
            risk_category=application.risk_category,
            rekyc_due_on=_rekyc_due_on(application.risk_category, application.decided_at),
        )
    changes = {k: v for k, v in changes.items() if getattr(client, k) != v}
    if not changes:
        return
    before = {k: getattr(client, k) for k in changes}
    Client.objects.filter(pk=client.pk).update(**changes)
    audit_record(
        action="client.kyc_changed", object_type="compliance.client", object_id=str(client.pk),
        actor=actor, before=before, after={**changes, "application": application.pk},
    )  # fmt: skip


# --- Risk category and re-KYC ------------------------------------------------------------


def _risk_apply(application: KycApplication, turnover: Decimal | None = None) -> None:
    assessment = risk_assess(
        application=application, rules=list(KycRiskRule.objects.all()), turnover=turnover
    )
    application.risk_category, application.risk_reasons = (
        assessment.category,
        assessment.reasons,
    )


def _rekyc_due_on(category: str, approved_at) -> date:
    interval = ReKycInterval.objects.filter(category=category).first()
    if interval is None:
        raise KycRefused(f"No re-KYC interval for risk category {category!r}: add one first.")
    return _months_after(timezone.localdate(approved_at), interval.months)


def _months_after(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day if it is shorter)."""
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def kyc_risk_recompute(
    *, application: KycApplication, actor: AbstractBaseUser | None, turnover: Decimal | None = None
) -> KycApplication:
    """Recompute an approved application's risk category from today's rules (and, given,
    the client's actual annual ``turnover``), and the re-KYC due date with it."""
    with audited_atomic():
        current = _locked(application)
        if current.status != S.APPROVED:
            raise KycRefused(f"Application {current.pk} is not approved: nothing to recompute.")
        before = {"risk_category": current.risk_category, "reasons": current.risk_reasons}
        _risk_apply(current, turnover)
        current.save(update_fields=["risk_category", "risk_reasons", "updated_at"])
        if before["risk_category"] != current.risk_category:
            audit_record(
                action="kyc.risk_recomputed", obj=current, actor=actor, before=before,
                after={"risk_category": current.risk_category, "reasons": current.risk_reasons},
            )  # fmt: skip
        _client_kyc_apply(current, actor=actor)
    return current


def rekyc_raise_due(*, on: date | None = None) -> list[ReKycDue]:
    """Raise every client whose re-KYC falls due within ``REKYC_NOTICE_DAYS`` of ``on``
    (today) into the re-KYC queue; once per client and due date, so it is safe to rerun."""
    on = on or timezone.localdate()
    raised = []
    due = Client.objects.filter(rekyc_due_on__lte=on + timedelta(days=REKYC_NOTICE_DAYS))
    for client_id, due_on in due.values_list("pk", "rekyc_due_on"):
        with audited_atomic():
            item, created = ReKycDue.objects.get_or_create(client_id=client_id, due_on=due_on)
            if created:
                audit_record(
                    action="kyc.rekyc_due", obj=item, actor=None,
                    after={"client": client_id, "due_on": due_on.isoformat()},
                )  # fmt: skip
                raised.append(item)
    return raised


# --- The KRA -----------------------------------------------------------------------------


def kyc_kra_sync(
    *, application: KycApplication, actor: AbstractBaseUser | None = None
) -> KycApplication:
    """Ask the KRA for the application's record (uploading it, for an approved application
    the KRA does not know) and store the answer; the client trades once it says "KYC
    Validated". The KRA is called before the transaction: call this outside one."""
    kra = kra_adapter()
    record: KraRecord | None = kra.lookup(application.pan)
    if record is None and application.kra_status == KraStatus.VALIDATED:
        # A KRA that no longer finds a record it validated is the KRA's anomaly, not a reason
        # to stop the client trading or to upload again: keep it, and say so.
        logger.warning("KRA has no record of validated application %s", application.pk)
        return application
    if record is None and application.status == S.APPROVED:
        record = kra.upload(application)
    if record is None:
        return application
    KraStatus(record.status)  # the KRAs' vocabulary only
    with audited_atomic():
        current = _locked(application)
        before = current.kra_status
        current.kra_status, current.kra_checked_at = record.status, record.checked_at
        current.kra_reference = record.reference or current.kra_reference
        current.save(update_fields=["kra_status", "kra_checked_at", "kra_reference", "updated_at"])
        if before != current.kra_status:
            audit_record(
                action="kyc.kra_status", obj=current, actor=actor,
                before={"kra_status": before},
                after={"kra_status": current.kra_status, "reference": current.kra_reference},
            )  # fmt: skip
        _client_kyc_apply(current, actor=actor)
    return current


def kyc_assign(*, applications, assignee: AbstractBaseUser, actor: AbstractBaseUser) -> int:
    """Assign the open ones of ``applications`` to a KYC officer; audited per application."""
    return queue_assign(
        items=KycApplication.objects.filter(
            pk__in=[a.pk for a in applications], status__in=OPEN_STATES
        ),
        assignee=assignee, actor=actor, perm="compliance.review_kyc", action="kyc.assigned",
        refused=KycRefused,
    )  # fmt: skip


def rekyc_assign(*, items, assignee: AbstractBaseUser, actor: AbstractBaseUser) -> int:
    """Assign open re-KYC items to a KYC officer (to chase the client); audited per item."""
    return queue_assign(
        items=ReKycDue.objects.filter(pk__in=[i.pk for i in items], status=ReKycStatus.DUE),
        assignee=assignee, actor=actor, perm="compliance.review_kyc", action="rekyc.assigned",
        refused=KycRefused,
    )  # fmt: skip
