"""Fixtures of the export-job tests: two small registers over real tables, and a CSV
writer with ``compliance.reports.writers``' signature.

The real registers and writers are written elsewhere; these tests are of the export jobs
(queueing, running, storing, serving), so they bring their own: ``test_audit`` lists audit
events (staff only) and counts them up front, ``test_statement`` a client's ledger (a statement, which a client may
run for their own client; it has no count), ``test_broken`` fails after its first rows, ``test_flaky`` loses
its connection a set number of times. The writer writes
CSV in chunks of two rows, reporting progress, as the real one does.
"""

import csv
import io
import sys
import types
from collections.abc import Iterator
from datetime import datetime, time, timedelta

import pytest
from django.db import OperationalError

from compliance.models import AuditEvent
from compliance.reports.registers import (
    REGISTERS,
    Column,
    Register,
    ReportParams,
    ReportParamsError,
)
from marketdata.calendar import IST
from orders.models import LedgerEntry


def _between(rows, field: str, params: ReportParams):
    if params.date_from:
        rows = rows.filter(**{f"{field}__gte": datetime.combine(params.date_from, time(0), IST)})
    if params.date_to:
        end = datetime.combine(params.date_to + timedelta(days=1), time(0), IST)
        rows = rows.filter(**{f"{field}__lt": end})
    return rows


def _audit(params: ReportParams):
    rows = _between(AuditEvent.objects.order_by("id"), "occurred_at", params)
    return rows.filter(actor_username=params.actor) if params.actor else rows


def audit_rows(params: ReportParams) -> Iterator[tuple]:
    return _audit(params).values_list("id", "action", "occurred_at").iterator(chunk_size=100)


def statement_rows(params: ReportParams) -> Iterator[tuple]:
    rows = _between(LedgerEntry.objects.order_by("id"), "posted_at", params)
    rows = rows.filter(account__client_id=params.client_id)
    if params.account_id:
        rows = rows.filter(account_id=params.account_id)
    return rows.values_list("id", "kind", "amount").iterator(chunk_size=100)


def broken_rows(params: ReportParams) -> Iterator[tuple]:
    yield (1, "first")
    yield (2, "second")
    yield (3, "third")
    raise RuntimeError("the replica went away")


def flaky_rows(params: ReportParams) -> Iterator[tuple]:
    """Loses its connection on the first ``FLAKY["failures"]`` runs, then yields a row."""
    if FLAKY["failures"] > 0:
        FLAKY["failures"] -= 1
        raise OperationalError("server closed the connection unexpectedly")
    yield (1, "after the retry")


FLAKY = {"failures": 0}
PDF_MAX_ROWS = 1

TEST_REGISTERS = [
    Register(
        kind="test_audit",
        title="Test audit register",
        columns=(Column("id", "Id"), Column("action", "Action"), Column("at", "Occurred")),
        rows=audit_rows,
        count=lambda params: _audit(params).count(),
        filters=frozenset({"date_from", "date_to", "actor"}),
    ),
    Register(
        kind="test_statement",
        title="Test ledger statement",
        columns=(Column("id", "Id"), Column("kind", "Kind"), Column("amount", "Amount")),
        rows=statement_rows,
        filters=frozenset({"date_from", "date_to", "client", "account"}),
        statement=True,
    ),
    Register(
        kind="test_broken",
        title="Test broken register",
        columns=(Column("id", "Id"), Column("text", "Text")),
        rows=broken_rows,
    ),
    Register(
        kind="test_flaky",
        title="Test flaky register",
        columns=(Column("id", "Id"), Column("text", "Text")),
        rows=flaky_rows,
    ),
]


def csv_write(register: Register, params: ReportParams, fmt: str, out, *, progress=None) -> int:
    """``report_write``'s contract, CSV only: header, rows in chunks, progress per chunk;
    a "PDF" of more than :data:`PDF_MAX_ROWS` rows is refused, as the real one refuses."""
    if fmt == "pdf":
        rows = sum(1 for _ in register.rows(params))
        if rows > PDF_MAX_ROWS:
            raise ReportParamsError(
                f"A PDF holds at most {PDF_MAX_ROWS} rows; this one has {rows}.",
                errors={"format": ["Choose CSV or XLSX."]},
            )
    if fmt not in ("csv", "pdf"):
        raise ValueError(f"the test writer writes CSV, not {fmt}")
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow([c.name for c in register.columns])
    count = 0
    for row in register.rows(params):
        writer.writerow(row)
        count += 1
        if progress and count % 2 == 0:
            progress(count)
    if progress:
        progress(count)
    text.detach()  # leave ``out`` open: the caller hashes and stores it
    return count


@pytest.fixture
def export_registers(monkeypatch):
    """The test registers in ``REGISTERS``, and the CSV writer as the writers module."""
    for report in TEST_REGISTERS:
        monkeypatch.setitem(REGISTERS, report.kind, report)
    writers = types.ModuleType("compliance.reports.writers")
    writers.report_write = csv_write
    monkeypatch.setitem(sys.modules, "compliance.reports.writers", writers)
    monkeypatch.setitem(FLAKY, "failures", 0)
    return {r.kind: r for r in TEST_REGISTERS}


@pytest.fixture
def reports_officer(user_in_role):
    return user_in_role("Compliance Officer", "meera_co")


@pytest.fixture
def reports_auditor(user_in_role):
    return user_in_role("Auditor", "audra")
