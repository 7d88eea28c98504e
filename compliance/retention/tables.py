"""Which tables each record kind archives, and how their rows become Arrow columns.

Columns follow the model's concrete fields (a foreign key as its ``_id``); JSON is kept as
its text, Decimals as Arrow decimals of the field's digits, datetimes in UTC microseconds.
"""

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from django.db import models

from compliance.models import AuditEvent
from compliance.retention.models import RecordKind


@dataclass(frozen=True)
class ArchivedTable:
    """One table of a kind: its model and the column its rows are keyed and ordered by."""

    model: type[models.Model]
    key: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.model._meta.db_table


#: The kinds archival is built for, each with its tables. KYC and contract notes have
#: policies but no archiver yet (docs/compliance-retention.md).
def _orders_tables() -> tuple[ArchivedTable, ...]:
    from orders.models import Fill, LedgerEntry, Order, OrderOutbox, PaperOrder

    return tuple(
        ArchivedTable(m, ("id",)) for m in (Order, Fill, LedgerEntry, OrderOutbox, PaperOrder)
    )


TABLES: dict[str, tuple[ArchivedTable, ...]] = {
    RecordKind.AUDIT_EVENTS: (ArchivedTable(AuditEvent, ("chain", "seq")),),
    RecordKind.ORDERS: _orders_tables(),
    RecordKind.LEDGER: _orders_tables()[2:3],  # LedgerEntry: the entries of no order
}


def columns(model: type[models.Model]) -> list[models.Field]:
    return list(model._meta.concrete_fields)


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
    """The Python value of an archived cell, as the ORM reads it from the online table."""
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
