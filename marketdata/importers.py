"""Parse market-data CSV files into typed rows, without touching the database.

Each ``parse_*`` function takes a whole file as text and returns a :class:`Parsed`: the rows
that passed validation, one :class:`RowError` per problem (naming the physical line and the
column), and a count of rows deliberately skipped. A file that cannot be read at all (empty,
unrecognised or incomplete header) raises :class:`ImportFormatError` instead.

Formats: NSE's equity list (``EQUITY_L.csv``), NSE Indices constituent lists
(``ind_nifty50list.csv``), generic OHLCV bar files, and NSE cash-market bhavcopies in both the
classic CM layout and the newer UDiFF layout.
"""

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

from stdnum import isin as isin_number

IST = ZoneInfo("Asia/Kolkata")
SESSION_OPEN = time(9, 15)  # daily bars start at the session open, IST

T = TypeVar("T")


@dataclass(frozen=True)
class RowError:
    """One problem found in one row of an imported file."""

    line: int  # 1-based physical line number in the file; the header is line 1
    message: str  # names the column and the problem, e.g. "HIGH: 'abc' is not a number"

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class Parsed(Generic[T]):
    """The outcome of parsing one file: good rows, row errors and deliberately skipped rows."""

    rows: list[T]
    errors: list[RowError]
    skipped: int = 0  # rows deliberately not imported (e.g. filtered series), not errors

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class InstrumentRow:
    """One security from an equity list or an index constituent list."""

    line: int
    tradingsymbol: str
    name: str
    series: str
    isin: str
    lot_size: int = 1
    face_value: Decimal | None = None
    listing_date: date | None = None
    sector: str = ""


@dataclass(frozen=True)
class BarRow:
    """One OHLCV bar of one symbol."""

    line: int
    tradingsymbol: str
    series: str | None
    isin: str | None
    start: datetime  # timezone-aware; for daily bars 09:15 IST of the trade date
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
    prev_close: Decimal | None = None


class ImportFormatError(ValueError):
    """The file as a whole cannot be read: wrong or missing header columns, empty file."""


# --------------------------------------------------------------------------- constants

INTERVALS = ("1m", "5m", "15m", "1h", "1d")
BAR_FORMATS = ("ohlcv", "bhavcopy-cm", "bhavcopy-udiff")

_INTERVAL_MINUTES = {"1m": 1, "5m": 5, "15m": 15, "1h": 60}
_OPEN_MINUTE = SESSION_OPEN.hour * 60 + SESSION_OPEN.minute  # 09:15 -> 555
_CLOSE_MINUTE = 15 * 60 + 30  # the session closes at 15:30 IST; no bar starts then
_EQUITY_SERIES = frozenset({"EQ", "BE", "BZ", "SM", "ST"})

_SYMBOL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789&-")
_SYMBOL_RULE = "1-20 characters from A-Z, 0-9, '&' and '-'"
_SERIES_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
        start=1,
    )
}
_CENT = Decimal("0.01")
_PRICE_LIMIT = Decimal(10) ** 10  # Bar prices are stored with 12 digits, 2 of them decimals
_VOLUME_LIMIT = 2**63 - 1  # volumes are stored as a signed 64-bit integer
_PLAIN_PRICE = re.compile(r"[0-9]{1,10}(?:\.[0-9]{0,2})?")  # always < _PRICE_LIMIT
_TIME_COLUMNS = ("timestamp", "datetime", "date", "time")

# Columns each bhavcopy layout must have (lower-case key -> the spelling NSE uses).
_CM_COLUMNS = {
    key.lower(): key
    for key in (
        "SYMBOL",
        "SERIES",
        "OPEN",
        "HIGH",
        "LOW",
        "CLOSE",
        "PREVCLOSE",
        "TOTTRDQTY",
        "TIMESTAMP",
        "ISIN",
    )
}
_UDIFF_COLUMNS = {
    key.lower(): key
    for key in (
        "TradDt",
        "Sgmt",
        "FinInstrmTp",
        "ISIN",
        "TckrSymb",
        "SctySrs",
        "OpnPric",
        "HghPric",
        "LwPric",
        "ClsPric",
        "PrvsClsgPric",
        "TtlTradgVol",
    )
}
_CM_SIGNATURE = frozenset({"tottrdqty", "tottrdval", "totaltrades", "prevclose"})
_UDIFF_SIGNATURE = frozenset({"traddt", "tckrsymb", "fininstrmtp", "sctysrs"})
_OHLCV_SIGNATURE = frozenset({"open", "high", "low", "close", "volume"})


# --------------------------------------------------------------------------- reading CSV


@dataclass
class _Sheet:
    """A CSV file's header (names stripped, trailing empty names dropped) and its data rows."""

    names: list[str]
    keys: list[str]  # the names in lower case, for case-insensitive lookup
    header_line: int
    records: Iterator[tuple[int, list[str]]]
    errors: list[RowError]

    @property
    def width(self) -> int:
        return len(self.names)

    def locate(self, key: str) -> int | None:
        """Index of the column whose lower-case name is ``key``; None when absent."""
        if key not in self.keys:
            return None
        if self.keys.count(key) > 1:
            raise ImportFormatError(
                f"header on line {self.header_line}: column {key!r} appears more than once"
            )
        return self.keys.index(key)

    def require(self, wanted: dict[str, tuple[str, ...]]) -> dict[str, int]:
        """Map each wanted field to a column index, trying each field's aliases in order.

        Raises ImportFormatError naming every missing column (by its first alias).
        """
        found: dict[str, int] = {}
        missing: list[str] = []
        for field_name, aliases in wanted.items():
            for alias in aliases:
                index = self.locate(alias.lower())
                if index is not None:
                    found[field_name] = index
                    break
            else:
                missing.append(" or ".join(aliases))
        if missing:
            raise ImportFormatError(
                f"header on line {self.header_line} is missing required column(s): "
                f"{', '.join(missing)} (found: {', '.join(self.names) or 'nothing'})"
            )
        return found

    def bad_width(self, fields: list[str]) -> str | None:
        """Why a row has the wrong number of fields, or None. Trailing empty fields are fine."""
        if len(fields) == self.width:
            return None
        if len(fields) > self.width and not any(value.strip() for value in fields[self.width :]):
            return None
        return f"expected {self.width} fields, found {len(fields)}"


def _records(text: str, errors: list[RowError]) -> Iterator[tuple[int, list[str]]]:
    """Yield (physical line number, fields) for each non-blank CSV record."""
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
    consumed = 0
    while True:
        line = consumed + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            errors.append(RowError(line, f"unreadable CSV: {exc}"))
            if reader.line_num == consumed:  # the reader made no progress: give up
                return
            consumed = reader.line_num
            continue
        consumed = reader.line_num
        if len(fields) > 1 or (fields and fields[0].strip()):
            yield line, fields


def _open_sheet(text: str) -> _Sheet:
    errors: list[RowError] = []
    records = _records(text, errors)
    first = next(records, None)
    if errors:
        raise ImportFormatError(f"line {errors[0].line}: header {errors[0].message}")
    if first is None:
        raise ImportFormatError("the file is empty: no header row")
    header_line, fields = first
    names = [name.strip() for name in fields]
    while names and not names[-1]:
        names.pop()
    return _Sheet(names, [name.lower() for name in names], header_line, records, errors)


# --------------------------------------------------------------------------- field parsers


def _is_symbol(value: str) -> bool:
    return 0 < len(value) <= 20 and _SYMBOL_CHARS.issuperset(value)


def _symbol_problem(column: str, raw: str) -> str:
    return f"{column}: {raw!r} is not a valid trading symbol ({_SYMBOL_RULE})"


def _is_series(value: str) -> bool:
    return 0 < len(value) <= 4 and _SERIES_CHARS.issuperset(value)


def _is_isin(value: str) -> bool:
    return len(value) == 12 and value.isascii() and value.isalnum() and isin_number.is_valid(value)


def _is_unsigned_decimal(raw: str) -> bool:
    """True for plain decimal notation such as ``12``, ``12.5``, ``.5``: no sign, exponent,
    separators, NaN or infinity."""
    whole, _, fraction = raw.partition(".")
    if not raw.isascii() or not (whole or fraction):
        return False
    return (not whole or whole.isdigit()) and (not fraction or fraction.isdigit())


def _positive_amount(raw: str, column: str, problems: list[str]) -> Decimal | None:
    """Parse a price-like amount: > 0 with at most 2 decimal places. None on failure."""
    if not _is_unsigned_decimal(raw):
        if raw[:1] == "-" and _is_unsigned_decimal(raw[1:]):
            problems.append(f"{column}: {raw} must be greater than 0")
        else:
            problems.append(f"{column}: {raw!r} is not a number")
        return None
    value = Decimal(raw)
    if value <= 0:
        problems.append(f"{column}: {raw} must be greater than 0")
        return None
    if value.as_tuple().exponent < -2:
        rounded = value.quantize(_CENT)
        if rounded != value:
            problems.append(f"{column}: {raw} has more than 2 decimal places")
            return None
        value = rounded  # only trailing zeros were dropped, e.g. 101.500 -> 101.50
    return value


def _price(raw: str, column: str, problems: list[str]) -> Decimal | None:
    if _PLAIN_PRICE.fullmatch(raw):  # the common case, checked with one precompiled regex
        value = Decimal(raw)
        if value:
            return value
    value = _positive_amount(raw, column, problems)
    if value is not None and value >= _PRICE_LIMIT:
        problems.append(f"{column}: {raw} is too large for a price")
        return None
    return value


def _volume(raw: str, column: str, problems: list[str]) -> int | None:
    if raw.isascii() and raw.isdigit():
        value = int(raw)
        if value > _VOLUME_LIMIT:
            problems.append(f"{column}: {raw} is too large for a volume")
            return None
        return value
    if raw[:1] == "-" and raw[1:].isascii() and raw[1:].isdigit():
        problems.append(f"{column}: {raw} is negative; volume must be 0 or more")
    else:
        problems.append(
            f"{column}: {raw!r} is not a whole number "
            "(digits only: no sign, decimal point or thousands separators)"
        )
    return None


def _positive_int(raw: str, column: str, problems: list[str]) -> int | None:
    if raw.isascii() and raw.isdigit() and int(raw) > 0:
        return int(raw)
    problems.append(f"{column}: {raw!r} is not a positive whole number")
    return None


def _day_month_year(raw: str) -> date | None:
    """Parse NSE's ``06-OCT-2008`` (month name in any case); None when malformed."""
    day, sep1, rest = raw.partition("-")
    month_name, sep2, year = rest.partition("-")
    month = _MONTHS.get(month_name.upper())
    if not (sep1 and sep2 and month and raw.isascii()):
        return None
    if not (day.isdigit() and len(day) <= 2 and year.isdigit() and len(year) == 4):
        return None
    try:
        return date(int(year), month, int(day))
    except ValueError:
        return None


def _session_open(day: date) -> datetime:
    return datetime.combine(day, SESSION_OPEN, tzinfo=IST)


# --------------------------------------------------------------------------- instruments

_EQUITY_LIST_COLUMNS = {
    "symbol": ("SYMBOL",),
    "name": ("NAME OF COMPANY",),
    "series": ("SERIES",),
    "listing_date": ("DATE OF LISTING",),
    "paid_up_value": ("PAID UP VALUE",),
    "lot_size": ("MARKET LOT",),
    "isin": ("ISIN NUMBER",),
    "face_value": ("FACE VALUE",),
}
_CONSTITUENT_COLUMNS = {
    "symbol": ("Symbol",),
    "name": ("Company Name", "name"),
    "industry": ("Industry",),
    "series": ("Series",),
    "isin": ("ISIN Code", "isin"),
}


def _parse_instruments(text: str, wanted: dict[str, tuple[str, ...]]) -> Parsed[InstrumentRow]:
    sheet = _open_sheet(text)
    columns = sheet.require(wanted)
    label = {field_name: sheet.names[index] for field_name, index in columns.items()}
    rows: list[InstrumentRow] = []
    first_seen: dict[tuple[str, str], int] = {}

    for line, fields in sheet.records:
        width_problem = sheet.bad_width(fields)
        if width_problem:
            sheet.errors.append(RowError(line, width_problem))
            continue
        value = {field_name: fields[index].strip() for field_name, index in columns.items()}
        problems: list[str] = []
        for field_name in ("symbol", "name", "series", "isin"):
            if not value[field_name]:
                problems.append(f"{label[field_name]}: required value is empty")

        symbol = value["symbol"].upper()
        if symbol and not _is_symbol(symbol):
            problems.append(_symbol_problem(label["symbol"], value["symbol"]))
        series = value["series"].upper()
        if series and not _is_series(series):
            problems.append(
                f"{label['series']}: {value['series']!r} is not a series code (1-4 letters/digits)"
            )
        isin = value["isin"].upper()
        if isin and not _is_isin(isin):
            problems.append(f"{label['isin']}: {value['isin']!r} is not a valid ISIN")

        lot_size: int | None = 1
        if value.get("lot_size"):
            lot_size = _positive_int(value["lot_size"], label["lot_size"], problems)
        face_value = None
        if value.get("face_value"):
            face_value = _positive_amount(value["face_value"], label["face_value"], problems)
        listing_date = None
        if value.get("listing_date"):
            listing_date = _day_month_year(value["listing_date"])
            if listing_date is None:
                problems.append(
                    f"{label['listing_date']}: {value['listing_date']!r} is not a date "
                    "like 06-OCT-2008"
                )

        if _is_symbol(symbol) and _is_series(series):
            earlier = first_seen.setdefault((symbol, series), line)
            if earlier != line:
                problems.append(
                    f"{label['symbol']}: {symbol} series {series} is a duplicate of line {earlier}"
                )

        if problems:
            sheet.errors.extend(RowError(line, problem) for problem in problems)
            continue
        rows.append(
            InstrumentRow(
                line=line,
                tradingsymbol=symbol,
                name=value["name"],
                series=series,
                isin=isin,
                lot_size=lot_size or 1,
                face_value=face_value,
                listing_date=listing_date,
                sector=value.get("industry", ""),
            )
        )
    return Parsed(rows=rows, errors=sheet.errors)


def parse_equity_list(text: str) -> Parsed[InstrumentRow]:
    """Parse NSE's equity list (``EQUITY_L.csv``) into instrument rows.

    Every column of NSE's header is required (spaces around names are ignored); SYMBOL,
    NAME OF COMPANY, SERIES and ISIN NUMBER must have values. An empty MARKET LOT means 1,
    an empty FACE VALUE or DATE OF LISTING means unknown. PAID UP VALUE is not imported.
    """
    return _parse_instruments(text, _EQUITY_LIST_COLUMNS)


def parse_index_constituents(text: str) -> Parsed[InstrumentRow]:
    """Parse an NSE Indices constituent list (e.g. ``ind_nifty50list.csv``).

    Accepts NSE's header (``Company Name,Industry,Symbol,Series,ISIN Code``) or the
    lower-case ``symbol,name,industry,series,isin`` of our seed file; extra columns are ignored.
    """
    return _parse_instruments(text, _CONSTITUENT_COLUMNS)


# --------------------------------------------------------------------------- bars


def _format_of(sheet: _Sheet) -> str:
    keys = set(sheet.keys)
    if keys & _UDIFF_SIGNATURE:
        return "bhavcopy-udiff"
    if keys & _CM_SIGNATURE:
        return "bhavcopy-cm"
    if keys & _OHLCV_SIGNATURE and keys.intersection(_TIME_COLUMNS):
        return "ohlcv"
    raise ImportFormatError(
        f"header on line {sheet.header_line} ({','.join(sheet.names)}) matches no known bar "
        f"format; expected one of: {', '.join(BAR_FORMATS)}"
    )


@dataclass(frozen=True)
class _BarLayout:
    """Where each bar field sits in a row, and how to read the bar's start time."""

    symbol: int | None
    series: int | None
    isin: int | None
    time: tuple[int, ...]  # one column, or (date, time) when a file splits them
    open: int
    high: int
    low: int
    close: int
    volume: int
    prev_close: int | None
    segment: int | None = None  # UDiFF only: Sgmt and FinInstrmTp pick out cash equities
    instrument_type: int | None = None


def _bar_layout(fmt: str, sheet: _Sheet) -> _BarLayout:
    """Check the header has the columns ``fmt`` needs; raise ImportFormatError if not."""
    if fmt == "bhavcopy-cm":
        col = sheet.require({key: (name,) for key, name in _CM_COLUMNS.items()})
        return _BarLayout(
            symbol=col["symbol"],
            series=col["series"],
            isin=col["isin"],
            time=(col["timestamp"],),
            open=col["open"],
            high=col["high"],
            low=col["low"],
            close=col["close"],
            volume=col["tottrdqty"],
            prev_close=col["prevclose"],
        )
    if fmt == "bhavcopy-udiff":
        col = sheet.require({key: (name,) for key, name in _UDIFF_COLUMNS.items()})
        return _BarLayout(
            symbol=col["tckrsymb"],
            series=col["sctysrs"],
            isin=col["isin"],
            time=(col["traddt"],),
            open=col["opnpric"],
            high=col["hghpric"],
            low=col["lwpric"],
            close=col["clspric"],
            volume=col["ttltradgvol"],
            prev_close=col["prvsclsgpric"],
            segment=col["sgmt"],
            instrument_type=col["fininstrmtp"],
        )
    time_columns = [key for key in _TIME_COLUMNS if sheet.locate(key) is not None]
    if not time_columns:
        sheet.require({"time": _TIME_COLUMNS})  # raises, naming the accepted names
    if time_columns == ["date", "time"]:
        time_at: tuple[int, ...] = (sheet.keys.index("date"), sheet.keys.index("time"))
    elif len(time_columns) == 1:
        time_at = (sheet.keys.index(time_columns[0]),)
    else:
        raise ImportFormatError(
            f"header on line {sheet.header_line} has several time columns "
            f"({', '.join(time_columns)}); keep one of {', '.join(_TIME_COLUMNS)}"
        )
    col = sheet.require({key: (key,) for key in ("open", "high", "low", "close", "volume")})
    symbol_at = sheet.locate("symbol")
    trading_symbol_at = sheet.locate("tradingsymbol")
    if symbol_at is not None and trading_symbol_at is not None:
        raise ImportFormatError(
            f"header on line {sheet.header_line} has both symbol and tradingsymbol columns"
        )
    return _BarLayout(
        symbol=symbol_at if symbol_at is not None else trading_symbol_at,
        series=None,
        isin=None,
        time=time_at,
        open=col["open"],
        high=col["high"],
        low=col["low"],
        close=col["close"],
        volume=col["volume"],
        prev_close=None,
    )


def detect_bar_format(text: str) -> str:
    """Name the bar format of a file from its header: "ohlcv", "bhavcopy-cm" or
    "bhavcopy-udiff". Raises ImportFormatError for an unknown or incomplete header."""
    sheet = _open_sheet(text)
    fmt = _format_of(sheet)
    _bar_layout(fmt, sheet)
    return fmt


def _iso_start(interval: str) -> Callable[[str, str, list[str]], datetime | None]:
    """A reader of ISO 8601 bar times for ``interval`` (naive times are IST)."""
    step = _INTERVAL_MINUTES.get(interval)

    def read(raw: str, column: str, problems: list[str]) -> datetime | None:
        try:
            if len(raw) <= 10:  # a bare date: that day's session open
                return _session_open(date.fromisoformat(raw))
            moment = datetime.fromisoformat(raw)
        except ValueError:
            problems.append(f"{column}: {raw!r} is not an ISO 8601 date or date-time")
            return None
        # Naive times are IST; aware ones are converted to IST.
        moment = moment.astimezone(IST) if moment.tzinfo else moment.replace(tzinfo=IST)
        if step is None:  # daily bars start at the session open of their trade date
            return _session_open(moment.date())
        minute = moment.hour * 60 + moment.minute
        if not _OPEN_MINUTE <= minute < _CLOSE_MINUTE:
            problems.append(
                f"{column}: {raw!r} ({moment:%H:%M} IST) is outside the 09:15-15:30 IST session"
            )
            return None
        if moment.second or moment.microsecond or (minute - _OPEN_MINUTE) % step:
            problems.append(
                f"{column}: {raw!r} ({moment:%H:%M:%S} IST) is not on a {interval} bar "
                "boundary counted from 09:15 IST"
            )
            return None
        return moment

    return read


def _bhavcopy_start(
    parse_day: Callable[[str], date | None], example: str
) -> Callable[[str, str, list[str]], datetime | None]:
    """A reader of bhavcopy trade dates; a file holds one or a few dates, so cache them."""
    seen: dict[str, datetime] = {}

    def read(raw: str, column: str, problems: list[str]) -> datetime | None:
        start = seen.get(raw)
        if start is None:
            try:
                day = parse_day(raw)
            except ValueError:
                day = None
            if day is None:
                problems.append(f"{column}: {raw!r} is not a date like {example}")
                return None
            start = seen[raw] = _session_open(day)
        return start

    return read


def parse_bars(
    text: str,
    *,
    interval: str = "1d",
    symbol: str | None = None,
    fmt: str | None = None,
    series: frozenset[str] | None = _EQUITY_SERIES,
) -> Parsed[BarRow]:
    """Parse OHLCV bars from a generic OHLCV file or an NSE bhavcopy (CM or UDiFF).

    ``fmt`` defaults to :func:`detect_bar_format`. ``interval`` must be "1d" for bhavcopies.
    For OHLCV files without a symbol column ``symbol`` names the instrument; with one, rows for
    another symbol are errors. For bhavcopies ``symbol`` keeps only that symbol's row, and
    ``series`` (None for all) keeps only those series; other rows count as ``skipped``.
    """
    if interval not in INTERVALS:
        raise ValueError(f"interval {interval!r} is not one of {', '.join(INTERVALS)}")
    if fmt is not None and fmt not in BAR_FORMATS:
        raise ValueError(f"fmt {fmt!r} is not one of {', '.join(BAR_FORMATS)}")
    wanted_symbol = None
    if symbol is not None:
        wanted_symbol = symbol.strip().upper()
        if not _is_symbol(wanted_symbol):
            raise ValueError(f"symbol {symbol!r} is not a valid trading symbol ({_SYMBOL_RULE})")

    sheet = _open_sheet(text)
    if fmt is None:
        fmt = _format_of(sheet)
    bhavcopy = fmt != "ohlcv"
    if bhavcopy and interval != "1d":
        raise ValueError(f"a {fmt} file holds daily bars: interval must be '1d', not {interval!r}")
    layout = _bar_layout(fmt, sheet)
    if layout.symbol is None and wanted_symbol is None:
        raise ImportFormatError(
            f"header on line {sheet.header_line} has no symbol column: pass symbol=..."
        )
    if fmt == "bhavcopy-cm":
        read_start = _bhavcopy_start(_day_month_year, "01-JAN-2024")
    elif fmt == "bhavcopy-udiff":
        read_start = _bhavcopy_start(date.fromisoformat, "2024-07-08")
    else:
        read_start = _iso_start(interval)
    keep_series = None if series is None else frozenset(code.upper() for code in series)
    return _read_bars(sheet, layout, read_start, wanted_symbol, keep_series)


def _read_bars(
    sheet: _Sheet,
    layout: _BarLayout,
    read_start: Callable[[str, str, list[str]], datetime | None],
    wanted_symbol: str | None,
    keep_series: frozenset[str] | None,
) -> Parsed[BarRow]:
    names = sheet.names
    errors = sheet.errors
    bhavcopy = layout.series is not None
    symbol_label = names[layout.symbol] if layout.symbol is not None else "symbol"
    time_label = "+".join(names[index] for index in layout.time)
    o_label, h_label, l_label, c_label = (
        names[layout.open],
        names[layout.high],
        names[layout.low],
        names[layout.close],
    )
    required = [(index, names[index]) for index in (*layout.time, layout.open, layout.high)]
    required += [(index, names[index]) for index in (layout.low, layout.close, layout.volume)]
    if layout.symbol is not None:
        required.append((layout.symbol, symbol_label))
    good_symbols = {wanted_symbol} if wanted_symbol is not None else set()
    first_seen: dict[tuple[str, datetime], int] = {}
    rows: list[BarRow] = []
    skipped = 0

    for line, fields in sheet.records:
        width_problem = sheet.bad_width(fields)
        if width_problem:
            errors.append(RowError(line, width_problem))
            continue
        fields = [value.strip() for value in fields]
        if layout.segment is not None and layout.instrument_type is not None:
            segment = fields[layout.segment]
            if segment != "CM" or fields[layout.instrument_type] != "STK":
                skipped += 1  # derivatives and other segments share the UDiFF layout
                continue

        problems: list[str] = []
        series = None
        if layout.series is not None:
            series = fields[layout.series].upper()
            if not series:
                problems.append(f"{names[layout.series]}: required value is empty")
            elif keep_series is not None and series not in keep_series:
                skipped += 1
                continue
        symbol = wanted_symbol or ""
        if layout.symbol is not None:
            raw_symbol = fields[layout.symbol]
            symbol = raw_symbol.upper()
            if bhavcopy and wanted_symbol is not None and symbol != wanted_symbol:
                skipped += 1
                continue
            if symbol not in good_symbols:
                if _is_symbol(symbol):
                    good_symbols.add(symbol)
                elif symbol:
                    problems.append(_symbol_problem(symbol_label, raw_symbol))
            if wanted_symbol is not None and symbol and symbol != wanted_symbol:
                problems.append(
                    f"{symbol_label}: {raw_symbol!r} differs from the requested symbol "
                    f"{wanted_symbol!r}"
                )

        empty = set()
        if "" in fields:
            empty = {index for index, _label in required if not fields[index]}
        for index, label in required:
            if index in empty:
                problems.append(f"{label}: required value is empty")

        isin = None
        if layout.isin is not None:
            isin = fields[layout.isin].upper() or None
            if isin is not None and not _is_isin(isin):
                problems.append(f"{names[layout.isin]}: {isin!r} is not a valid ISIN")

        start = None
        if not empty.intersection(layout.time):
            raw_time = " ".join(fields[index] for index in layout.time)
            start = read_start(raw_time, time_label, problems)
        open_ = high = low = close = volume = prev_close = None
        if layout.open not in empty:
            open_ = _price(fields[layout.open], o_label, problems)
        if layout.high not in empty:
            high = _price(fields[layout.high], h_label, problems)
        if layout.low not in empty:
            low = _price(fields[layout.low], l_label, problems)
        if layout.close not in empty:
            close = _price(fields[layout.close], c_label, problems)
        if layout.volume not in empty:
            volume = _volume(fields[layout.volume], names[layout.volume], problems)
        if layout.prev_close is not None:
            raw_prev = fields[layout.prev_close]
            if raw_prev:
                prev_close = _price(raw_prev, names[layout.prev_close], problems)

        if low is not None and high is not None:
            if open_ is not None and not low <= open_ <= high:
                problems.append(
                    f"{l_label} <= {o_label} <= {h_label} does not hold: "
                    f"{l_label} {low}, {o_label} {open_}, {h_label} {high}"
                )
            if close is not None and not low <= close <= high:
                problems.append(
                    f"{l_label} <= {c_label} <= {h_label} does not hold: "
                    f"{l_label} {low}, {c_label} {close}, {h_label} {high}"
                )

        if start is not None and symbol in good_symbols:
            earlier = first_seen.setdefault((symbol, start), line)
            if earlier != line:
                problems.append(
                    f"{time_label}: {symbol} already has a bar starting {start.isoformat()} "
                    f"on line {earlier}"
                )

        if problems:
            errors.extend(RowError(line, problem) for problem in problems)
            continue
        rows.append(
            BarRow(
                line=line,
                tradingsymbol=symbol,
                series=series,
                isin=isin,
                start=start,  # every value below is set when the row has no problems
                open=open_,
                high=high,
                low=low,
                close=close,
                volume=volume,
                prev_close=prev_close,
            )
        )
    return Parsed(rows=rows, errors=errors, skipped=skipped)
