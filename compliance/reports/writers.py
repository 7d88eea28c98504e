"""Registers and statements written out as CSV, XLSX or PDF, streamed in constant memory.

``report_write(register, params, fmt, out)`` writes one report to the binary file ``out``
and returns its row count. Each writer pulls the register's rows one at a time and never
holds them: CSV through the ``csv`` module, XLSX through openpyxl's write-only workbook
(a new sheet past Excel's row limit), PDF drawn on a reportlab canvas page by page. A PDF
of more than ``REPORT_PDF_MAX_ROWS`` rows is refused before anything is written.
"""

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any, BinaryIO

from django.conf import settings
from django.utils import timezone

from compliance.reports.registers.base import Register, ReportParams, ReportParamsError
from compliance.reports.registers.common import CHUNK, IST

FORMATS = ("csv", "xlsx", "pdf")
#: Rows per XLSX sheet, the header included (Excel's limit).
XLSX_MAX_ROWS = 1_048_576

Progress = Callable[[int], None] | None


def report_write(
    register: Register,
    params: ReportParams,
    fmt: str,
    out: BinaryIO,
    *,
    progress: Progress = None,
) -> int:
    """Write ``register``'s rows for ``params`` to ``out`` as ``fmt``; return the row count.

    ``progress(n)`` is called after every chunk of rows with the rows written so far.
    """
    writers = {"csv": csv_write, "xlsx": xlsx_write, "pdf": pdf_write}
    if fmt not in writers:
        raise ReportParamsError(
            f"No report format {fmt!r}.", errors={"format": [f"Choose one of {list(FORMATS)}."]}
        )
    return writers[fmt](register, params, out, progress=progress)


def _counted(rows: Iterable[tuple], progress: Progress) -> Iterator[tuple]:
    """``rows``, calling ``progress`` every chunk (and once at the end)."""
    n = 0
    for row in rows:
        yield row
        n += 1
        if progress and n % CHUNK == 0:
            progress(n)
    if progress and n % CHUNK:
        progress(n)


def _local(value: datetime) -> datetime:
    return value.astimezone(IST) if timezone.is_aware(value) else value


# --- CSV ------------------------------------------------------------------------------------


def csv_text(value: Any) -> str:
    """A value as the CSV carries it: decimals as written, instants in IST with microseconds
    and offset, dates ISO, nothing as empty."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return _local(value).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def csv_write(
    register: Register, params: ReportParams, out: BinaryIO, *, progress: Progress = None
) -> int:
    """The header row (column names), then one line per row, UTF-8."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    try:
        writer = csv.writer(text)
        writer.writerow([c.name for c in register.columns])
        n = 0
        for row in _counted(register.rows(params), progress):
            writer.writerow([csv_text(v) for v in row])
            n += 1
        text.flush()
    finally:
        text.detach()  # leave ``out`` open for the caller
    return n


# --- XLSX -----------------------------------------------------------------------------------


def _sheet(book: Any, register: Register, number: int) -> Any:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheet = book.create_sheet(f"Sheet {number}")
    for i, column in enumerate(register.columns, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = column.width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for column in register.columns:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    return sheet


def _decimal_format(value: Decimal) -> str:
    places = -value.as_tuple().exponent  # type: ignore[operator]
    return "0." + "0" * places if places > 0 else "0"


def xlsx_write(
    register: Register, params: ReportParams, out: BinaryIO, *, progress: Progress = None
) -> int:
    """A write-only workbook: a bold, frozen header, typed cells (decimals as numbers shown
    to their places, instants as Excel date-times in IST), another sheet past Excel's limit."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    number = 1
    sheet = _sheet(book, register, number)
    on_sheet = 1
    n = 0
    for row in _counted(register.rows(params), progress):
        if on_sheet >= XLSX_MAX_ROWS:
            number += 1
            sheet = _sheet(book, register, number)
            on_sheet = 1
        cells = []
        for value in row:
            if isinstance(value, Decimal):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = _decimal_format(value)
                cells.append(cell)
            elif isinstance(value, datetime):
                cell = WriteOnlyCell(sheet, value=_local(value).replace(tzinfo=None))
                cell.number_format = "yyyy-mm-dd hh:mm:ss.000"
                cells.append(cell)
            elif isinstance(value, date):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "yyyy-mm-dd"
                cells.append(cell)
            else:
                cells.append(value)
        sheet.append(cells)
        on_sheet += 1
        n += 1
    book.save(out)
    return n


# --- PDF ------------------------------------------------------------------------------------

MARGIN = 28  # points
ROW_HEIGHT = 10
#: The cells' font size: as large as fits every column's width (``Column.width``
#: characters) across the page, within these bounds; past them a cell's text is cut ("…").
FONT_SIZES = (5.0, 7.0)
EM_PER_CHARACTER = 0.56  # DejaVu Sans Condensed's digits and most letters


def condensed_font() -> str:
    """DejaVu Sans Condensed for the cells (registered once), else the regular face."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    from compliance.pdf import find_font, fonts

    name = "REPORT-condensed"
    if name in pdfmetrics.getRegisteredFontNames():
        return name
    path = find_font("DejaVuSansCondensed.ttf")
    if path is None:
        return fonts().regular
    pdfmetrics.registerFont(TTFont(name, str(path)))
    return name


def pdf_text(value: Any) -> str:
    """A value as the PDF shows it: amounts with Indian digit grouping, instants in IST."""
    from compliance.pdf import money

    if value is None:
        return ""
    if isinstance(value, Decimal):
        return money(value)
    if isinstance(value, datetime):
        return _local(value).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _rows_at_most(register: Register, params: ReportParams, most: int) -> int:
    """How many rows the report has, counting no further than ``most`` + 1."""
    n = 0
    for _ in register.rows(params):
        n += 1
        if n > most:
            break
    return n


def filters_line(params: ReportParams) -> str:
    filters = params.as_json()
    if not filters:
        return "Filters: none"
    return "Filters: " + ", ".join(f"{k} {v}" for k, v in filters.items())


class _Page:
    """Draws one report's pages on a canvas: the heading, the header row, rows, the footer."""

    def __init__(self, canvas: Any, register: Register, params: ReportParams, total: int):
        from reportlab.lib.pagesizes import A4, landscape

        from compliance.pdf import fonts

        self.canvas = canvas
        self.register = register
        self.fonts = fonts()
        self.width, self.height = landscape(A4)
        self.heading = [
            register.title,
            filters_line(params),
            "Generated " + timezone.now().astimezone(IST).strftime("%Y-%m-%d %H:%M:%S IST"),
        ]
        self.cell_font = condensed_font()
        usable = self.width - 2 * MARGIN
        weights = sum(c.width for c in register.columns)
        self.widths = [usable * c.width / weights for c in register.columns]
        low, high = FONT_SIZES
        self.size = max(low, min(high, usable / (weights * EM_PER_CHARACTER)))
        top = self.height - MARGIN - 3 * 13 - 6
        self.first_row_y = top - ROW_HEIGHT * 1.4
        self.per_page = int((self.first_row_y - MARGIN - 14) // ROW_HEIGHT)
        self.pages = -(-(total + 1) // self.per_page)  # the last line ("N rows") takes a slot
        self.number = 0
        self.y = 0.0

    def _fit(self, text: str, font: str, width: float) -> str:
        from reportlab.pdfbase.pdfmetrics import stringWidth

        room = width - 3
        if stringWidth(text, font, self.size) <= room:
            return text
        text = text[: int(room / (self.size * 0.25))]  # no face is narrower than a quarter em
        while text and stringWidth(text + "…", font, self.size) > room:
            text = text[:-1]
        return text + "…"

    def _cell(self, text: str, x: float, width: float, *, right: bool, font: str) -> None:
        """One cell's text, cut to its width; Devanagari runs in a face that has them."""
        from reportlab.pdfbase.pdfmetrics import stringWidth

        from compliance.pdf import DEVANAGARI

        text = self._fit(text, font, width)
        runs = [(run, font) for run in DEVANAGARI.split(text) if run]
        if self.fonts.devanagari:
            runs = [
                (run, self.fonts.devanagari if DEVANAGARI.fullmatch(run) else face)
                for run, face in runs
            ]
        if right:
            total = sum(stringWidth(run, face, self.size) for run, face in runs)
            x = x + width - 2 - total
        for run, face in runs:
            self.canvas.setFont(face, self.size)
            self.canvas.drawString(x, self.y, run)
            x += stringWidth(run, face, self.size)

    def _row(self, values: list[str], *, numeric: list[bool], font: str) -> None:
        x = float(MARGIN)
        for text, width, right in zip(values, self.widths, numeric, strict=True):
            self._cell(text, x + 1, width, right=right, font=font)
            x += width

    def start(self) -> None:
        """A new page: the heading lines and the header row."""
        self.number += 1
        c = self.canvas
        y = self.height - MARGIN - 10
        for i, line in enumerate(self.heading):
            c.setFont(self.fonts.bold if i == 0 else self.fonts.regular, 11 if i == 0 else 8)
            c.drawString(MARGIN, y, line)
            y -= 13
        self.y = self.first_row_y + ROW_HEIGHT * 0.4
        header = [col.header for col in self.register.columns]
        self._row(header, numeric=[False] * len(header), font=self.fonts.bold)
        c.setLineWidth(0.5)
        c.line(MARGIN, self.y - 3, self.width - MARGIN, self.y - 3)
        self.y = self.first_row_y - ROW_HEIGHT * 0.4
        self.on_page = 0

    def footer(self) -> None:
        c = self.canvas
        c.setFont(self.fonts.regular, 7)
        pages = max(self.pages, self.number)
        label = f"{self.register.title}: page {self.number} of {pages}"
        c.drawRightString(self.width - MARGIN, MARGIN - 12, label)

    def add(self, row: tuple) -> None:
        if self.number == 0 or self.on_page >= self.per_page:
            if self.number:
                self.footer()
                self.canvas.showPage()
            self.start()
        numeric = [isinstance(v, Decimal | int) and not isinstance(v, bool) for v in row]
        self._row([pdf_text(v) for v in row], numeric=numeric, font=self.cell_font)
        self.y -= ROW_HEIGHT
        self.on_page += 1

    def finish(self, n: int) -> None:
        if self.number == 0 or self.on_page >= self.per_page:
            if self.number:
                self.footer()
                self.canvas.showPage()
            self.start()
        self.canvas.setFont(self.fonts.bold, 8)
        self.canvas.drawString(MARGIN, self.y - 4, f"{n:,} row{'s' if n != 1 else ''}")
        self.footer()
        self.canvas.showPage()


def pdf_write(
    register: Register, params: ReportParams, out: BinaryIO, *, progress: Progress = None
) -> int:
    """Landscape A4 pages, each with the title, the filters, when it was made, the header row
    and "page X of Y"; the last line counts the rows. Refused past REPORT_PDF_MAX_ROWS.

    The rows are read twice: once to count them (no further than the cap) so the cap is
    checked before anything is written and each page knows the page count, then to draw.
    """
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.pdfgen.canvas import Canvas

    most = settings.REPORT_PDF_MAX_ROWS
    counted = _rows_at_most(register, params, most)
    if counted > most:
        raise ReportParamsError(
            f"The {register.title} has more than {most:,} rows, too many for a PDF.",
            errors={
                "format": [
                    f"A PDF may have at most {most:,} rows (REPORT_PDF_MAX_ROWS); export CSV "
                    "or XLSX, or narrow the filters."
                ]
            },
        )
    canvas = Canvas(out, pagesize=landscape(A4), pageCompression=1)
    canvas.setTitle(register.title)
    canvas.setCreator("TradingSite")
    page = _Page(canvas, register, params, counted)
    n = 0
    for row in _counted(register.rows(params), progress):
        page.add(row)
        n += 1
    page.finish(n)
    canvas.save()
    return n
