"""Every register written as CSV, XLSX and PDF and read back: the same rows as the register
yields, typed cells in the workbook, a header on every PDF page, the PDF's row cap checked
before anything is written, a second sheet past Excel's limit, progress by chunk."""

import csv
import io
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from openpyxl import load_workbook
from pypdf import PdfReader

from compliance.reports import writers
from compliance.reports.registers import REGISTERS, ReportParams, ReportParamsError
from compliance.reports.registers.common import IST
from compliance.reports.writers import FORMATS, csv_text, pdf_text, report_write
from compliance.tests.report_fixtures import DAY0, DAY2, at, stamp_summary_expected
from orders.models import Fill

pytestmark = pytest.mark.django_db


def params_for(kind: str) -> ReportParams:
    if "date_from" in REGISTERS[kind].filters:
        return ReportParams(date_from=DAY0, date_to=DAY2)
    return ReportParams()


def written(kind: str, fmt: str, params: ReportParams | None = None, **kwargs) -> tuple[int, bytes]:
    out = io.BytesIO()
    n = report_write(REGISTERS[kind], params or params_for(kind), fmt, out, **kwargs)
    return n, out.getvalue()


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def xlsx_same(got, value) -> bool:
    """Whether a workbook cell read back holds the register's ``value``: decimals as numbers,
    instants as IST wall-clock times to Excel's millisecond, dates as midnight."""
    if value is None or value == "":
        return got is None or got == ""
    if isinstance(value, datetime):
        local = value.astimezone(IST).replace(tzinfo=None)
        return isinstance(got, datetime) and abs(got - local) < timedelta(milliseconds=1)
    if isinstance(value, date):
        return got == datetime.combine(value, time.min)
    if isinstance(value, Decimal):
        return isinstance(got, int | float) and abs(Decimal(str(got)) - value) < Decimal("1e-9")
    return got == value


def pdf_pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", sorted(REGISTERS))
def test_every_register_reads_back_as_its_rows(book, kind, fmt):
    register = REGISTERS[kind]
    with time_machine.travel(at(DAY2, 18), tick=False):  # the margin statement's "now"
        expected = list(register.rows(params_for(kind)))
        n, data = written(kind, fmt)
    assert expected, f"the book gives {kind} no rows"
    assert n == len(expected)
    if fmt == "csv":
        header, *lines = csv_rows(data)
        assert header == [c.name for c in register.columns]
        assert lines == [[csv_text(v) for v in row] for row in expected]
    elif fmt == "xlsx":
        book_ = load_workbook(io.BytesIO(data), read_only=True)
        assert book_.sheetnames == ["Sheet 1"]
        header, *lines = book_["Sheet 1"].iter_rows(values_only=True)
        assert list(header) == [c.header for c in register.columns]
        assert len(lines) == len(expected)
        for line, row in zip(lines, expected, strict=True):
            assert len(line) <= len(row)
            line = (*line, *[None] * (len(row) - len(line)))  # empty trailing cells are not read
            assert all(xlsx_same(g, v) for g, v in zip(line, row, strict=True)), (line, row)
    else:
        pages = pdf_pages(data)
        text = "\n".join(pages)
        assert register.title in pages[0]
        assert f"page 1 of {len(pages)}" in pages[0]
        assert f"{n:,} row" in pages[-1]
        for row in expected:
            assert pdf_text(row[0]) in text, row


def _stamp_read_back(fmt: str, data: bytes) -> list[tuple]:
    """The STT and stamp duty summary's rows as read back from ``data`` (``fmt``), typed:
    dates, text, the fill count and the amounts as Decimals to the paisa."""
    width = len(REGISTERS["stt_stamp_summary"].columns)
    if fmt == "csv":
        _, *lines = csv_rows(data)
    elif fmt == "xlsx":
        _, *lines = load_workbook(io.BytesIO(data), read_only=True)["Sheet 1"].iter_rows(
            values_only=True
        )
    else:
        text = "\n".join(pdf_pages(data)).splitlines()
        cells = text[text.index("Stamp duty") + 1 : next(
            i for i, line in enumerate(text) if line.endswith(" rows")
        )]  # fmt: skip
        assert len(cells) % width == 0, cells
        lines = [cells[i : i + width] for i in range(0, len(cells), width)]
    out = []
    for day, exchange, code, state, fills, *amounts in lines:
        day = day.date() if isinstance(day, datetime) else date.fromisoformat(day)
        if fmt == "xlsx":  # number cells: floats, exact to the paisa once rounded to it
            amounts = [Decimal(str(a)).quantize(Decimal("0.01")) for a in amounts]
        else:  # text as written: two places, never rounded here
            amounts = [Decimal(a.replace(",", "")) for a in amounts]
            assert all(a.as_tuple().exponent == -2 for a in amounts), amounts
        out.append((day, exchange, str(code), state, int(fills), *amounts))
    return out


SUMMED = ("fills", "buy_value", "sell_value", "stt", "stamp_duty")


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_stamp_summary_reads_back_as_the_fills_state_by_state(stamp_book, fmt):
    """Two clients in two states and one with none: each file, read back, is the fills'
    STT and stamp duty per trade date, exchange and state, to the paisa."""
    from compliance.kyc.choices import IndianState

    n, data = written("stt_stamp_summary", fmt)
    got = _stamp_read_back(fmt, data)
    expected = stamp_summary_expected()
    assert n == len(got) == len(expected) == 5
    assert [row[:3] for row in got] == sorted(
        expected, key=lambda k: (k[0], k[1], k[2] == "unknown", k[2])
    )
    for day, exchange, code, state, *summed in got:
        want = expected[(day, exchange, code)]
        name = "Unknown: no state on the client's KYC record"
        assert state == (name if code == "unknown" else IndianState(code).label)
        assert summed == [want[k] for k in SUMMED]
    assert {row[3] for row in got} == {
        "Karnataka", "Maharashtra", "Unknown: no state on the client's KYC record"
    }  # fmt: skip
    duty = sum(Decimal(f.charges["stamp_duty"]) for f in Fill.objects.all())
    assert sum(row[-1] for row in got) == duty > 0


def test_the_csv_carries_exact_decimals_and_instants_in_ist(book):
    _, data = written("trade_register", "csv")
    header, *lines = csv_rows(data)
    fills = list(Fill.objects.order_by("filled_at", "id"))
    for line, fill in zip(lines, fills, strict=True):
        row = dict(zip(header, line, strict=True))
        assert Decimal(row["price"]) == fill.price
        assert Decimal(row["charges_total"]) == fill.charges_total
        assert row["traded_at"].endswith(".123456+05:30")
        assert datetime.fromisoformat(row["traded_at"]) == fill.filled_at
        assert row["trade_date"] == fill.trade_date.isoformat()
        assert row["algo_id"] == fill.order.algo_id
    names = {dict(zip(header, line, strict=True))["client_name"] for line in lines}
    assert names == {"Asha Rao", "रवि अय्यर"}


def test_the_workbook_has_a_bold_frozen_header_widths_and_typed_cells(book):
    register = REGISTERS["trade_register"]
    _, data = written("trade_register", "xlsx")
    sheet = load_workbook(io.BytesIO(data))["Sheet 1"]
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.b for cell in sheet[1])
    assert sheet.column_dimensions["C"].width == register.columns[2].width
    assert sheet.column_dimensions["J"].width == register.columns[9].width
    names = [c.name for c in register.columns]
    first = dict(zip(names, sheet[2], strict=True))
    fill = Fill.objects.order_by("filled_at", "id").first()
    assert isinstance(first["price"].value, int | float)
    assert first["price"].value == float(fill.price)
    assert first["price"].number_format == "0.00"
    assert first["traded_at"].is_date
    assert xlsx_same(first["traded_at"].value, fill.filled_at)
    assert first["traded_at"].value.hour == 10  # IST: 04:31 UTC
    assert first["trade_date"].value.date() == fill.trade_date
    assert first["quantity"].value == fill.quantity


def test_past_the_row_limit_the_workbook_goes_on_to_a_second_sheet(book, monkeypatch):
    monkeypatch.setattr(writers, "XLSX_MAX_ROWS", 3)  # a header and two rows a sheet
    expected = list(REGISTERS["trade_register"].rows(params_for("trade_register")))
    n, data = written("trade_register", "xlsx")
    workbook = load_workbook(io.BytesIO(data), read_only=True)
    assert workbook.sheetnames == ["Sheet 1", "Sheet 2", "Sheet 3"]
    ids = []
    for name in workbook.sheetnames:
        header, *lines = workbook[name].iter_rows(values_only=True)
        assert header[0] == "Trade no."
        assert len(lines) <= 2
        ids += [line[1] for line in lines]
    assert ids == [row[1] for row in expected]
    assert n == len(expected) == 5


def test_a_pdf_over_the_cap_is_refused_before_anything_is_written(book, settings):
    count = len(list(REGISTERS["trade_register"].rows(params_for("trade_register"))))
    settings.REPORT_PDF_MAX_ROWS = count - 1
    out = io.BytesIO()
    with pytest.raises(ReportParamsError) as refused:
        report_write(REGISTERS["trade_register"], params_for("trade_register"), "pdf", out)
    assert "CSV or XLSX" in refused.value.errors["format"][0]
    assert out.getvalue() == b""
    settings.REPORT_PDF_MAX_ROWS = count
    n, data = written("trade_register", "pdf")
    assert n == count
    assert data.startswith(b"%PDF")
    n, data = written("trade_register", "csv")  # CSV has no cap
    assert n == count


def test_every_pdf_page_has_the_heading_and_the_header_row(book, monkeypatch):
    monkeypatch.setattr(writers, "ROW_HEIGHT", 80)  # a few rows a page
    rows = list(REGISTERS["audit_extract"].rows(params_for("audit_extract")))
    n, data = written("audit_extract", "pdf", ReportParams(date_from=DAY0, date_to=DAY2))
    pages = pdf_pages(data)
    assert len(pages) > 3
    for number, page in enumerate(pages, start=1):
        assert "Audit trail extract" in page
        assert f"Filters: date_from {DAY0}, date_to {DAY2}" in page
        assert "Generated " in page
        assert "Previous hash" in page
        assert f"page {number} of {len(pages)}" in page
    assert pages[-1].rstrip().count(f"{n} rows") + pages[-1].count(f"{n:,} rows") >= 1
    lines = "\n".join(pages).splitlines()
    assert [line for line in lines if line.isdigit() and int(line) in {r[0] for r in rows}]
    for row in rows:
        assert str(row[0]) in lines, row  # each event id, in the first column


def test_progress_is_told_every_chunk(book, monkeypatch):
    monkeypatch.setattr(writers, "CHUNK", 2)
    for fmt in FORMATS:
        seen: list[int] = []
        n, _ = written("trade_register", fmt, progress=seen.append)
        assert seen == [2, 4, 5], fmt
        assert n == 5


def test_an_unknown_format_is_refused(book):
    with pytest.raises(ReportParamsError) as refused:
        written("trade_register", "docx")
    assert "format" in refused.value.errors


def test_a_report_of_no_rows_is_its_header_alone(book):
    nobody = ReportParams(date_from=DAY0, date_to=DAY0)  # the accounts opened; nothing traded
    n, data = written("trade_register", "csv", nobody)
    assert n == 0
    assert csv_rows(data) == [[c.name for c in REGISTERS["trade_register"].columns]]
    n, data = written("trade_register", "xlsx", nobody)
    sheet = load_workbook(io.BytesIO(data), read_only=True)["Sheet 1"]
    assert [row[0] for row in sheet.iter_rows(values_only=True)] == ["Trade no."]
    n, data = written("trade_register", "pdf", nobody)
    (page,) = pdf_pages(data)
    assert "0 rows" in page
    assert "page 1 of 1" in page


def test_a_full_last_page_still_counts_the_rows_line(book, monkeypatch):
    """With every page full, the "N rows" line goes on a page of its own, counted in Y."""
    for height in range(10, 200):  # a row height that fits exactly five rows a page
        monkeypatch.setattr(writers, "ROW_HEIGHT", height)
        if writers._Page(None, REGISTERS["trade_register"], ReportParams(), 0).per_page == 5:
            break
    else:
        pytest.fail("no row height gives five rows a page")
    n, data = written("trade_register", "pdf")
    pages = pdf_pages(data)
    assert n == 5
    assert len(pages) == 2
    assert "page 1 of 2" in pages[0]
    assert "page 2 of 2" in pages[1]
    assert "5 rows" in pages[1]
