"""Shared reads of reports: whose contract notes a user may see, the notes still to e-mail,
and a note's file, its sha256 checked before use; the kinds a user may run and the exports
a user may see."""

import hashlib
import logging
from datetime import date
from typing import IO, Any

from django.core.files.storage import storages
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from compliance.reports.models import ContractNoteDispatch, ContractNoteRecord, ReportExport
from compliance.reports.registers import REGISTERS, Register
from tradingsite.errors import DomainError

logger = logging.getLogger(__name__)

#: The files of a note: kind -> content type.
FILE_KINDS = {"pdf": "application/pdf", "csv": "text/csv", "json": "application/json"}
#: Who sees every client's notes (without an API key): compliance staff and auditors.
SEE_ALL_NOTES = ("compliance.export_regulatory_reports", "orders.view_all_accounts")
Status = ContractNoteDispatch.Status
EXPORT_PERM = "compliance.export_regulatory_reports"


class ContractNoteFileCorrupt(DomainError):
    """A note's file is missing from the compliance storage or is not what was recorded."""

    problem_type = "server-error"


def contract_notes_for(*, user: Any, key: Any = None) -> QuerySet[ContractNoteRecord]:
    """The notes ``user`` may see: those of the clients of the trading accounts linked to
    them; every note for compliance staff and auditors. Through an API ``key``, only the
    notes of the key's account's client."""
    from orders.selectors import accounts_for

    notes = ContractNoteRecord.objects.select_related("client", "supplements")
    if key is None and any(user.has_perm(perm) for perm in SEE_ALL_NOTES):
        return notes
    return notes.filter(client_id__in=accounts_for(user, key).values("client_id"))


def contract_notes_to_dispatch(
    *, max_attempts: int, day: date | None = None
) -> QuerySet[ContractNoteRecord]:
    """Notes (of ``day``, or of any day) with no dispatch sending or sent (an officer's
    "Send again" included), and fewer than ``max_attempts`` scheduled ones (all failed),
    oldest first."""
    live = ContractNoteDispatch.objects.filter(
        note=OuterRef("pk"), status__in=[Status.SENDING, Status.SENT]
    )
    notes = ContractNoteRecord.objects.filter(~Exists(live))
    if day is not None:
        notes = notes.filter(trade_date=day)
    failed = Count("dispatches", filter=Q(dispatches__resend=False))
    return notes.alias(failed=failed).filter(failed__lt=max_attempts).order_by("trade_date", "pk")


def contract_note_file_open(*, note: ContractNoteRecord, kind: str) -> IO[bytes]:
    """The note's ``kind`` file (pdf, csv or json), open at its start once its bytes have
    been read and found to match the recorded sha256. Raises
    :class:`ContractNoteFileCorrupt` (and logs it) naming the file otherwise."""
    if kind not in FILE_KINDS:
        raise ValueError(f"no file kind {kind!r}: one of {', '.join(FILE_KINDS)}")
    path, expected = getattr(note, f"{kind}_path"), getattr(note, f"{kind}_sha256")
    try:
        handle = storages["compliance"].open(path, "rb")
    except FileNotFoundError:
        logger.error("Contract note %s: its %s file %s is missing", note.number, kind, path)
        raise ContractNoteFileCorrupt(
            f"The {kind.upper()} of contract note {note.number} ({path}) is missing."
        ) from None
    digest = hashlib.sha256()
    for chunk in iter(lambda: handle.read(64 * 1024), b""):
        digest.update(chunk)
    if digest.hexdigest() != expected:
        handle.close()
        logger.error(
            "Contract note %s: %s has sha256 %s, the record says %s",
            note.number, path, digest.hexdigest(), expected,
        )  # fmt: skip
        raise ContractNoteFileCorrupt(
            f"The {kind.upper()} of contract note {note.number} ({path}) does not match its "
            f"recorded sha256: it has changed since the note was made."
        )
    handle.seek(0)
    return handle


def report_kinds_for(*, user: Any, key: Any = None) -> list[Register]:
    """The registers ``user`` may run: all of them with the export permission, else (and
    through an API ``key``) the statements of their own, by kind."""
    staff = key is None and user.has_perm(EXPORT_PERM)
    return [REGISTERS[k] for k in sorted(REGISTERS) if staff or REGISTERS[k].statement]


def report_exports_for(*, user: Any) -> QuerySet[ReportExport]:
    """Exports ``user`` may see: every one with the export permission, else their own."""
    exports = ReportExport.objects.select_related("requested_by")
    if user.has_perm(EXPORT_PERM):
        return exports
    return exports.filter(requested_by_id=user.pk)
