"""E-mailing contract notes to their clients, each attempt kept as a dispatch.

A run claims a note by writing a :class:`ContractNoteDispatch` in ``sending`` in its own
short transaction (the model's constraints refuse a second claim), then reads the signed
PDF and the CSV from the compliance storage (sha256 checked), sends them through Django's
mail backend with no transaction open, and marks the dispatch sent or failed with its audit
event in one transaction. A failed note is tried again on later runs, up to
``CONTRACT_NOTE_DISPATCH_ATTEMPTS`` scheduled attempts in all.
"""

import logging
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.mail import EmailMessage, get_connection
from django.core.mail.message import make_msgid
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from compliance.kyc.selectors import kyc_application_current
from compliance.reports.models import ContractNoteDispatch, ContractNoteRecord
from compliance.reports.selectors import (
    FILE_KINDS,
    ContractNoteFileCorrupt,
    contract_note_file_open,
    contract_notes_to_dispatch,
)
from compliance.services import audit_record
from tradingsite.errors import DomainError

logger = logging.getLogger(__name__)
Status = ContractNoteDispatch.Status
#: A dispatch still ``sending`` after this long was abandoned (its worker stopped mid-send):
#: the next run marks it failed, so the note is tried again.
STALE_SENDING = timedelta(hours=1)
#: What the e-mail carries: the signed PDF and the CSV (the JSON is for the API).
ATTACHED = ("pdf", "csv")


class ContractNoteDispatchBusy(DomainError):
    """The note is being sent right now; nothing was done."""

    problem_type = "conflict"


def _recipient(note: ContractNoteRecord) -> tuple[str, str]:
    """The client's e-mail from its current KYC application, or why there is none."""
    application = kyc_application_current(client_id=note.client_id)
    if application is None:
        return "", f"No e-mail on file: client {note.client_id} has no KYC application."
    if not application.email:
        return "", f"No e-mail on file: KYC application {application.pk} has no e-mail."
    return application.email, ""


def _claim(
    note: ContractNoteRecord, *, recipient: str, resend: bool
) -> ContractNoteDispatch | None:
    """A dispatch of ``note`` in ``sending``, or None if another run holds or sent it."""
    try:
        with transaction.atomic():
            last = note.dispatches.aggregate(last=Max("attempt"))["last"] or 0
            return ContractNoteDispatch.objects.create(
                note=note, recipient=recipient, attempt=last + 1, resend=resend,
                attempted_at=timezone.now(),
            )  # fmt: skip
    except IntegrityError:
        return None


def _message(note: ContractNoteRecord, recipient: str, connection: Any) -> EmailMessage:
    broker = settings.COMPLIANCE_BROKER
    message = EmailMessage(
        subject=f"Contract note {note.number} for trades of {note.trade_date:%d %b %Y}",
        body=(
            f"Dear client,\n\nYour contract note {note.number} for the trades of "
            f"{note.trade_date:%d %B %Y} (settlement {note.settlement_number}) is attached: "
            "the digitally signed PDF and the same figures as CSV.\n\n"
            f"{broker['name']}\nSEBI registration {broker['sebi_registration']}\n"
            f"Compliance officer: {broker['compliance_officer_name']}, "
            f"{broker['compliance_officer_email']}\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
        headers={"Message-ID": make_msgid(domain=settings.DEFAULT_FROM_EMAIL.split("@")[-1])},
        connection=connection,
    )
    for kind in ATTACHED:
        with contract_note_file_open(note=note, kind=kind) as handle:
            message.attach(f"{note.number}.{kind}", handle.read(), FILE_KINDS[kind])
    return message


def _send(dispatch: ContractNoteDispatch, connection: Any, no_recipient: str) -> tuple[str, str]:
    """Send the dispatch's mail (no transaction open); its Message-ID, or why it failed
    (``no_recipient`` when there is no e-mail to send to)."""
    if not dispatch.recipient:
        return "", no_recipient
    try:
        message = _message(dispatch.note, dispatch.recipient, connection)
    except ContractNoteFileCorrupt as corrupt:
        return "", corrupt.detail
    try:
        if message.send() != 1:
            return "", "The mail backend accepted no message."
    except Exception as refused:  # any backend's failure (SMTP, socket) fails this dispatch
        logger.warning("Contract note %s not sent: %s", dispatch.note.number, refused)
        return "", f"{type(refused).__name__}: {refused}"
    return message.extra_headers["Message-ID"], ""


def _finish(
    dispatch: ContractNoteDispatch, *, message_id: str, error: str, actor: AbstractBaseUser | None
) -> ContractNoteDispatch:
    """Mark a sending dispatch sent (no ``error``) or failed, and audit it."""
    now = timezone.now()
    status = Status.FAILED if error else Status.SENT
    with transaction.atomic():
        moved = ContractNoteDispatch.objects.filter(pk=dispatch.pk, status=Status.SENDING).update(
            status=status, error=error, message_id=message_id,
            sent_at=None if error else now,
        )  # fmt: skip
        if moved:
            note = dispatch.note
            audit_record(
                action="contract_note.sent" if not error else "contract_note.dispatch_failed",
                object_type="compliance.contractnotedispatch",
                object_id=str(dispatch.pk),
                actor=actor,
                after={
                    "number": note.number, "note": note.pk, "recipient": dispatch.recipient,
                    "attempt": dispatch.attempt, "resend": dispatch.resend, "status": status,
                    "message_id": message_id, "error": error,
                    "pdf_sha256": note.pdf_sha256, "csv_sha256": note.csv_sha256,
                },
            )  # fmt: skip
    dispatch.refresh_from_db()
    return dispatch


def _deliver(
    note: ContractNoteRecord, *, resend: bool, connection: Any, actor: AbstractBaseUser | None
) -> ContractNoteDispatch | None:
    """Claim, send and mark one dispatch of ``note``; None if another run holds it."""
    recipient, no_recipient = _recipient(note)
    dispatch = _claim(note, recipient=recipient, resend=resend)
    if dispatch is None:
        return None
    message_id, error = _send(dispatch, connection, no_recipient)
    return _finish(dispatch, message_id=message_id, error=error, actor=actor)


def _abandoned_release() -> None:
    """Fail dispatches left in ``sending`` by a worker that stopped mid-send. Whether that
    mail went out is unknown; the note is tried again (at worst the client gets it twice)."""
    cutoff = timezone.now() - STALE_SENDING
    for dispatch in ContractNoteDispatch.objects.filter(
        status=Status.SENDING, attempted_at__lt=cutoff
    ).select_related("note"):
        _finish(
            dispatch, message_id="", actor=None,
            error=f"Abandoned: still sending after {STALE_SENDING} (the worker stopped); the "
            "mail may or may not have gone out.",
        )  # fmt: skip


def contract_notes_dispatch(*, day: date | None = None) -> list[ContractNoteDispatch]:
    """E-mail each note (of ``day``, a date, or of any day) with no dispatch sent or being
    sent and fewer failed ones than ``CONTRACT_NOTE_DISPATCH_ATTEMPTS``; return this run's
    dispatches, sent and failed. A note another run claimed meanwhile is left to it."""
    _abandoned_release()
    notes = list(
        contract_notes_to_dispatch(max_attempts=settings.CONTRACT_NOTE_DISPATCH_ATTEMPTS, day=day)
    )
    connection = get_connection()
    done = [_deliver(note, resend=False, connection=connection, actor=None) for note in notes]
    return [dispatch for dispatch in done if dispatch is not None]


def contract_note_send_again(
    *, note: ContractNoteRecord, actor: AbstractBaseUser | None
) -> ContractNoteDispatch:
    """Send ``note`` once more at an officer's request (sent before or not, attempts used up
    or not), to the e-mail now on file. Raises :class:`ContractNoteDispatchBusy` if a send
    of it is in flight, and PermissionError for an actor without
    ``compliance.send_contract_notes`` (an auditor reads notes; only officers send them)."""
    if actor is not None and not actor.has_perm("compliance.send_contract_notes"):
        raise PermissionError(f"{actor} may not send contract notes (send_contract_notes).")
    dispatch = _deliver(note, resend=True, connection=get_connection(), actor=actor)
    if dispatch is None:
        raise ContractNoteDispatchBusy(
            f"Contract note {note.number} is being sent right now; try again in a minute."
        )
    return dispatch
