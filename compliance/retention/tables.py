"""Which tables each record kind archives, and how their rows become Arrow columns.

Columns follow the model's concrete fields (a foreign key as its ``_id``); JSON is kept as
its text, Decimals as Arrow decimals of the field's digits, datetimes in UTC microseconds.
Encrypted text (``ops.crypto.EncryptedTextField``: a KYC application's PAN and bank account)
is archived as the ciphertext the table holds, never as plaintext; reading it back needs the
keyring, as the online row does.
"""

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from django.db import models
from django.db.models.functions import Cast

from compliance.models import AuditEvent
from compliance.retention.models import RecordKind
from ops.crypto import EncryptedTextField


@dataclass(frozen=True)
class ArchivedTable:
    """One table of a kind: its model and the column its rows are keyed and ordered by."""

    model: type[models.Model]
    key: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.model._meta.db_table


def _orders_tables() -> tuple[ArchivedTable, ...]:
    from orders.models import Fill, LedgerEntry, Order, OrderOutbox, PaperOrder

    return tuple(
        ArchivedTable(m, ("id",)) for m in (Order, Fill, LedgerEntry, OrderOutbox, PaperOrder)
    )


def _kyc_tables() -> tuple[ArchivedTable, ...]:
    from compliance.kyc.models import KycApplication, KycDocument

    return ArchivedTable(KycApplication, ("id",)), ArchivedTable(KycDocument, ("id",))


def _contract_note_tables() -> tuple[ArchivedTable, ...]:
    from compliance.reports.models import ContractNoteDispatch, ContractNoteRecord

    return ArchivedTable(ContractNoteRecord, ("id",)), ArchivedTable(ContractNoteDispatch, ("id",))


#: The kinds archival is built for, each with its tables: every kind of ``RecordKind``. The
#: month's rows of each kind but the audit trail are chosen by ``archive.SELECTIONS``.
TABLES: dict[str, tuple[ArchivedTable, ...]] = {
    RecordKind.AUDIT_EVENTS: (ArchivedTable(AuditEvent, ("chain", "seq")),),
    RecordKind.ORDERS: _orders_tables(),
    RecordKind.LEDGER: _orders_tables()[2:3],  # LedgerEntry: the entries of no order
    RecordKind.KYC: _kyc_tables(),  # applications and their documents' rows (not the files)
    RecordKind.CONTRACT_NOTES: _contract_note_tables(),  # notes and their dispatches
}


def columns(model: type[models.Model]) -> list[models.Field]:
    return list(model._meta.concrete_fields)


def stored_columns(model: type[models.Model]) -> list:
    """What ``values_list`` reads for each column: the attname, or for encrypted text a cast
    that skips the field's decryption (the table's ciphertext)."""
    return [
        Cast(f.attname, output_field=models.TextField())
        if isinstance(f, EncryptedTextField)
        else f.attname
        for f in columns(model)
    ]


def arrow_type(field: models.Field) -> pa.DataType:
    if isinstance(field, models.ForeignKey):
        return pa.int64()
    if isinstance(field, models.BooleanField):
        return pa.bool_()
    if isinstance(field, models.IntegerField | models.AutoField):
        return pa.int64()
    if isinstance(field, models.DecimalField):
        return pa.decimal128(field.max_digits, field.decimal_places)
    if isinstance(field, models.DateTimeField):
        return pa.timestamp("us", tz="UTC")
    if isinstance(field, models.DateField):
        return pa.date32()
    return pa.string()  # text, JSON (as its text), IP addresses


def arrow_schema(model: type[models.Model]) -> pa.Schema:
    return pa.schema([pa.field(f.attname, arrow_type(f), nullable=True) for f in columns(model)])


def to_arrow_value(field: models.Field, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(field, models.JSONField):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(field, models.DateTimeField) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def from_arrow_value(field: models.Field, value: Any) -> Any:
    """The Python value of an archived cell, as the ORM reads it from the online table (but
    encrypted text, which stays the table's ciphertext: see :func:`decrypted`)."""
    if value is None:
        return None
    if isinstance(field, models.JSONField):
        return json.loads(value)
    return value


def batches(
    model: type[models.Model], rows: Iterable[tuple], size: int
) -> Iterator[pa.RecordBatch]:
    """``rows`` (tuples in the model's column order) as Arrow record batches of ``size``."""
    fields, schema = columns(model), arrow_schema(model)
    chunk: list[tuple] = []

    def batch() -> pa.RecordBatch:
        arrays = [
            pa.array([to_arrow_value(f, row[i]) for row in chunk], type=schema.field(i).type)
            for i, f in enumerate(fields)
        ]
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield batch()
            chunk = []
    if chunk:
        yield batch()


def rows_from_batch(model: type[models.Model], batch: pa.RecordBatch) -> Iterator[dict]:
    """The rows of an archived batch as dicts of attname -> Python value."""
    fields = columns(model)
    for row in batch.to_pylist():
        yield {f.attname: from_arrow_value(f, row[f.attname]) for f in fields}


def decrypted(field: models.Field, value: Any) -> Any:
    """An archived or restored cell of encrypted text as the ORM reads it: the plaintext."""
    if value is None or not isinstance(field, EncryptedTextField):
        return value
    return field.from_db_value(value, None, None)
