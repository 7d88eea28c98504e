"""Writes of regulatory reports: the day's contract notes, made from the real fills.

``contract_notes_generate`` makes one note per client with fills on a day: its figures from
the fills' stored charges (``contract_note_build``), its three files written to the
``compliance`` storage, named by their sha256, before any transaction (signing the PDF
holds no lock), then a :class:`ContractNoteRecord` and an audit event on the firm's chain.
"""

import hashlib
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import IntegrityError, transaction

from compliance.kyc.choices import IndianState
from compliance.kyc.selectors import kyc_application_current
from compliance.reports.contract_note import Broker, FillFigures, NoteClient, contract_note_build
from compliance.reports.contract_note_files import (
    contract_note_csv,
    contract_note_json,
    contract_note_pdf,
    demo_signer,
    signer_from_files,
)
from compliance.reports.models import ContractNoteRecord
from compliance.services import audit_record
from marketdata.calendar import trading_days
from orders.selectors import fills_of_day_by_client


def contract_note_signer() -> Any:
    """The configured signer (CONTRACT_NOTE_CERT_FILE and _KEY_FILE), else the demo one."""
    cert, key = settings.CONTRACT_NOTE_CERT_FILE, settings.CONTRACT_NOTE_KEY_FILE
    if cert and key:
        return signer_from_files(Path(cert), Path(key))
    return demo_signer(Path(settings.DATA_DIR) / "contract-note-signer")


def settlement_number(day: date) -> str:
    """The NSE-style settlement number: the year, then the day's ordinal among the year's
    trading days (``2026238``); a day that is no trading day takes the last one's."""
    ordinal = len(trading_days(date(day.year, 1, 1), day))
    return f"{day.year}{ordinal:03d}"


def _broker() -> Broker:
    return Broker(**settings.COMPLIANCE_BROKER)


def _note_client(client: Any, ucc: str, broker: Broker) -> NoteClient:
    """The client as the note names it: name, PAN, address and state from the latest KYC
    application (name and PAN from the client record if there is none). The state decides
    CGST + SGST or IGST; an application with no state recorded (one made before the field
    existed), or no application, is taken to be in the broker's state."""
    application = kyc_application_current(client_id=client.pk)
    state = broker.state
    if application is not None and application.state:
        state = IndianState(application.state).label
    return NoteClient(
        name=application.name if application else client.name,
        ucc=ucc,
        pan=application.pan if application else client.pan,
        address=application.address if application else "",
        state=state,
    )


def _figures(fill: Any) -> FillFigures:
    order = fill.order
    return FillFigures(
        order_number=order.broker_order_id or str(order.pk),
        order_time=order.created_at,
        trade_number=fill.broker_fill_id,
        trade_time=fill.filled_at,
        trade_date=fill.trade_date,
        symbol=order.tradingsymbol,
        isin=order.instrument.isin,
        side=order.transaction_type,
        product=order.product,
        quantity=fill.quantity,
        price=fill.price,
        charges=fill.charges,
    )


def _files_write(day: date, contents: dict[str, bytes]) -> dict[str, str]:
    """Save each file as ``contract-notes/<date>/<sha256>.<kind>`` (once: same content,
    same name); return the record's ``<kind>_path`` and ``<kind>_sha256`` fields."""
    storage = storages["compliance"]
    written = {}
    for kind, content in contents.items():
        digest = hashlib.sha256(content).hexdigest()
        path = f"contract-notes/{day.isoformat()}/{digest}.{kind}"
        if not storage.exists(path):
            path = storage.save(path, ContentFile(content))
        written[f"{kind}_path"], written[f"{kind}_sha256"] = path, digest
    return written


def _covered(day: date, client_ids: list[int]) -> dict[int, tuple[set[int], Any, int]]:
    """Per client with notes of ``day``: the fills on them, the day's first note and the
    last part made."""
    covered: dict[int, tuple[set[int], Any, int]] = {}
    notes = ContractNoteRecord.objects.filter(trade_date=day, client_id__in=client_ids)
    for note in notes.order_by("client_id", "part"):
        fills, first, _last = covered.get(note.client_id, (set(), note, 0))
        covered[note.client_id] = (fills | set(note.fill_ids), first, note.part)
    return covered


def contract_notes_generate(*, day: date, signer: Any = None) -> list[ContractNoteRecord]:
    """Make the contract note of each client with fills on ``day`` that has none yet, and a
    supplementary note (the next part, naming the first) for a client whose fills of the day
    are not all on its notes (fills that arrived after its note was made); return the notes
    made (none on a second run, or a day without fills).

    A client's fills on all its accounts go on one note; its UCC is its trading account's
    code (the codes, joined, for a client with several). ``signer`` defaults to
    :func:`contract_note_signer`.
    """
    by_client: dict[int, list[Any]] = defaultdict(list)
    for fill in fills_of_day_by_client(day=day):
        by_client[fill.account.client_id].append(fill)
    covered = _covered(day, list(by_client))
    todo = {}
    for client_id, fills in by_client.items():
        on_notes, first, last_part = covered.get(client_id, (set(), None, 0))
        new = [f for f in fills if f.pk not in on_notes]
        if new:
            todo[client_id] = (new, first, last_part + 1)
    if not todo:
        return []
    signer = signer or contract_note_signer()
    broker = _broker()
    settlement = settlement_number(day)
    made = []
    for client_id, (fills, first, part) in sorted(todo.items()):
        client = fills[0].account.client
        ucc = ",".join(sorted({f.account.code for f in fills}))
        sequence = ContractNoteRecord.objects.filter(trade_date=day).count() + 1
        note = contract_note_build(
            number=f"CN-{day:%Y%m%d}-{sequence:06d}",
            trade_date=day,
            settlement_number=settlement,
            broker=broker,
            client=_note_client(client, ucc, broker),
            fills=[_figures(f) for f in fills],
            generated_at=datetime.now(UTC),
            supplements=first.number if first is not None else "",
        )
        files = _files_write(
            day,
            {
                "pdf": contract_note_pdf(note, signer=signer),
                "csv": contract_note_csv(note),
                "json": contract_note_json(note),
            },
        )
        fill_ids = sorted(f.pk for f in fills)
        try:
            with transaction.atomic():
                record = ContractNoteRecord.objects.create(
                    client_id=client_id,
                    trade_date=day,
                    number=note.number,
                    settlement_number=settlement,
                    generated_at=note.generated_at,
                    part=part,
                    supplements=first,
                    fill_ids=fill_ids,
                    **files,
                )
                audit_record(
                    action="contract_note.generated",
                    object_type="compliance.contractnoterecord",
                    object_id=str(record.pk),
                    after={
                        "number": record.number,
                        "client_id": client_id,
                        "trade_date": day.isoformat(),
                        "part": part,
                        "supplements": note.supplements or None,
                        "fills": fill_ids,
                        "net_amount": str(note.obligation.net_amount),
                        "charges_total": str(note.obligation.charges_total),
                        **{key: value for key, value in files.items() if key.endswith("sha256")},
                    },
                )
        except IntegrityError:
            # Another run made this part of the client's notes (or took the number) meanwhile.
            if ContractNoteRecord.objects.filter(
                client_id=client_id, trade_date=day, part=part
            ).exists():
                continue
            raise
        made.append(record)
    return made


def contract_note_downloaded(
    *, note: ContractNoteRecord, kind: str, actor: AbstractBaseUser | None
) -> None:
    """Audit that ``actor`` took a copy of ``note``'s ``kind`` file (API or admin)."""
    audit_record(
        action="contract_note.downloaded",
        object_type="compliance.contractnoterecord",
        object_id=str(note.pk),
        actor=actor,
        after={
            "number": note.number,
            "client_id": note.client_id,
            "file": kind,
            "sha256": getattr(note, f"{kind}_sha256"),
        },
    )
