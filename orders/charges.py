"""Brokerage and statutory charges on one fill of a cash-equity order, to the paisa.

Pure computation over rate tables kept as data with effective dates (``orders/data/*.csv``,
described in ``orders/data/README.md``); no database. The rules:

- turnover = quantity x price, exact.
- Brokerage is per executed ORDER: rate x turnover, and the whole order pays at most the
  plan's ``cap_per_order`` across its partial fills, so a fill pays
  min(rate x turnover, cap - brokerage_already_charged), never less than 0. The plan's
  ``minimum_per_order`` applies once, on the first fill (brokerage_already_charged == 0).
- STT, exchange transaction charge, SEBI fee and stamp duty are rate x turnover. GST is
  rate x (brokerage + exchange transaction charge + SEBI fee).
- House rounding convention (ours, not an exchange rule): every component is rounded to the
  paisa, half up, on each fill; GST is computed on the sum of the already-rounded brokerage,
  transaction charge and SEBI fee, then rounded; the total is the sum of the rounded parts.
- Every charge needs exactly one applicable row on the trade date. A charge that does not
  apply (stamp duty on a sell, STT on an intraday buy) is an explicit zero-rate row, so a
  missing row is a :class:`RateTableError`, never a silent zero. Among the rows in force the
  most specific wins (exact exchange/product/side over ``*``); a tie is an error.
"""

import csv
import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
CHARGE_RATES_CSV = DATA_DIR / "charge_rates.csv"
BROKERAGE_PLANS_CSV = DATA_DIR / "brokerage_plans.csv"

ANY = "*"
EXCHANGES = ("NSE", "BSE")
PRODUCTS = ("CNC", "MIS", "NRML")
SIDES = ("BUY", "SELL")
# Every charge below is required on every fill; the basis each one is computed on is fixed.
BASIS_OF_CHARGE = {
    "stt": "turnover",
    "exchange_transaction": "turnover",
    "sebi_fee": "turnover",
    "stamp_duty": "turnover",
    "gst": "gst_base",
}
CHARGES = tuple(BASIS_OF_CHARGE)
BASES = ("turnover", "gst_base")
PAISA = Decimal("0.01")

CHARGE_RATE_COLUMNS = (
    "charge",
    "exchange",
    "product",
    "side",
    "rate",
    "basis",
    "effective_from",
    "effective_to",
    "note",
)
BROKERAGE_PLAN_COLUMNS = (
    "code",
    "name",
    "product",
    "rate",
    "cap_per_order",
    "minimum_per_order",
    "effective_from",
    "effective_to",
)

# Products of exact inputs must stay exact whatever the caller's decimal context is.
_EXACT = Context(prec=100, traps=[InvalidOperation, DivisionByZero, Overflow, Inexact])
_ROUND = Context(prec=100)
_PLAIN_DECIMAL = re.compile(r"[+-]?\d+(?:\.\d+)?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PLAN_CODE = re.compile(r"[A-Z][A-Z0-9_]*")


class RateTableError(ValueError):
    """A rate file that cannot be used; the message names the file line and the problem.

    Also raised when the tables have no (or no unambiguous) row for what a fill needs.
    ``problems`` holds one message per problem; ``str()`` joins them, one per line.
    """

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems = (problems,) if isinstance(problems, str) else tuple(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class ChargeRate:
    """One row of ``charge_rates.csv``."""

    charge: str  # one of CHARGES
    exchange: str  # "NSE", "BSE" or "*"
    product: str  # "CNC", "MIS", "NRML" or "*"
    side: str  # "BUY", "SELL" or "*"
    rate: Decimal  # a fraction: 0.001 means 0.1 %
    basis: str  # "turnover" (price x quantity) or "gst_base"
    effective_from: date
    effective_to: date | None  # inclusive; None = still in force


@dataclass(frozen=True)
class BrokeragePlan:
    """One row of ``brokerage_plans.csv``: a plan's terms for one product (or ``*``)."""

    code: str
    name: str
    product: str  # "CNC", "MIS", "NRML" or "*"
    rate: Decimal  # fraction of turnover
    cap_per_order: Decimal | None  # rupees per executed order; None = no cap
    minimum_per_order: Decimal  # rupees, charged at least once, on the first fill
    effective_from: date
    effective_to: date | None  # inclusive; None = still in force


@dataclass(frozen=True)
class ChargeBreakdown:
    """The charges on one fill, each rounded to the paisa."""

    brokerage: Decimal
    stt: Decimal
    exchange_transaction: Decimal
    sebi_fee: Decimal
    stamp_duty: Decimal
    gst: Decimal

    def _components(self) -> dict[str, Decimal]:
        return {
            "brokerage": self.brokerage,
            "stt": self.stt,
            "exchange_transaction": self.exchange_transaction,
            "sebi_fee": self.sebi_fee,
            "stamp_duty": self.stamp_duty,
            "gst": self.gst,
        }

    @property
    def total(self) -> Decimal:
        total = Decimal("0.00")
        for value in self._components().values():
            total = _EXACT.add(total, value)
        return total

    def as_dict(self) -> dict[str, str]:
        """Every component plus ``total``, as strings with two decimal places."""
        values = {**self._components(), "total": self.total}
        return {name: str(_paisa(value)) for name, value in values.items()}


# --- loading -------------------------------------------------------------------------------


class _Row:
    """One data row of a CSV file, collecting its problems as line-numbered messages."""

    def __init__(self, label: str, line: int, values: dict[str, str]) -> None:
        self.label = label
        self.line = line
        self.values = values
        self.problems: list[str] = []

    def fail(self, message: str) -> None:
        self.problems.append(f"{self.label} line {self.line}: {message}")

    def choice(self, name: str, choices: Sequence[str]) -> str | None:
        text = self.values[name]
        if text in choices:
            return text
        self.fail(f"unknown {name} {text!r} (expected one of: {', '.join(choices)})")
        return None

    def text(self, name: str) -> str | None:
        if self.values[name]:
            return self.values[name]
        self.fail(f"{name} is empty")
        return None

    def decimal(self, name: str, *, blank_ok: bool = False) -> Decimal | None:
        text = self.values[name]
        if not text and blank_ok:
            return None
        if not text:
            self.fail(f"{name} is empty")
        elif not _PLAIN_DECIMAL.fullmatch(text):
            self.fail(f"{name} {text!r} is not a decimal number")
        else:
            return Decimal(text)
        return None

    def fraction(self, name: str) -> Decimal | None:
        value = self.decimal(name)
        if value is None:
            return None
        if value < 0:
            self.fail(f"{name} {value} is negative")
        elif value > 1:
            self.fail(f"{name} {value} is more than 1: rates are fractions (0.001 means 0.1 %)")
        else:
            return value
        return None

    def rupees(self, name: str, *, blank_ok: bool = False) -> Decimal | None:
        value = self.decimal(name, blank_ok=blank_ok)
        if value is None:
            return None
        if value < 0:
            self.fail(f"{name} {value} is negative")
        elif value != value.quantize(PAISA, context=_ROUND):
            self.fail(f"{name} {value} is not a whole number of paise")
        else:
            return value
        return None

    def iso_date(self, name: str, *, blank_ok: bool = False) -> date | None:
        text = self.values[name]
        if not text and blank_ok:
            return None
        if not text:
            self.fail(f"{name} is empty")
            return None
        try:
            if not _ISO_DATE.fullmatch(text):
                raise ValueError
            return date.fromisoformat(text)
        except ValueError:
            self.fail(f"{name} {text!r} is not a date (YYYY-MM-DD)")
            return None

    def period(self) -> tuple[date, date | None] | None:
        start = self.iso_date("effective_from")
        end = self.iso_date("effective_to", blank_ok=True)
        if start is not None and end is not None and end < start:
            self.fail(f"effective_to {end} is before effective_from {start}")
            return None
        if start is None or (end is None and self.values["effective_to"]):
            return None
        return start, end


def _read(path_or_text: str | os.PathLike[str], default_label: str) -> tuple[str, str]:
    """Return (label for messages, text): a path is read; a string with a line break is text."""
    if isinstance(path_or_text, str) and ("\n" in path_or_text or not path_or_text):
        return default_label, path_or_text.removeprefix("\ufeff")
    if isinstance(path_or_text, str | os.PathLike):
        path = Path(path_or_text)
        return path.name, path.read_text(encoding="utf-8-sig")
    raise TypeError(f"expected a path or CSV text, not {type(path_or_text).__name__}")


def _rows(
    text: str, label: str, required: Sequence[str], optional: Sequence[str] = ()
) -> tuple[list[_Row], list[str]]:
    """Split CSV text into rows keyed by column name; header problems raise at once."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    header_line = 0
    rows: list[_Row] = []
    problems: list[str] = []
    next_line = 1
    try:
        for fields in reader:
            line, next_line = next_line, reader.line_num + 1
            if not any(field.strip() for field in fields):
                continue
            cells = [field.strip() for field in fields]
            if header is None:
                header, header_line = cells, line
                _check_header(header, header_line, label, required, optional)
            elif len(cells) != len(header):
                problems.append(
                    f"{label} line {line}: {len(cells)} fields where the header "
                    f"(line {header_line}) has {len(header)}"
                )
            else:
                rows.append(_Row(label, line, dict(zip(header, cells, strict=True))))
    except csv.Error as exc:
        raise RateTableError(f"{label} line {next_line}: unreadable CSV: {exc}") from exc
    if header is None:
        raise RateTableError(f"{label}: the file is empty (no header)")
    if not rows and not problems:
        raise RateTableError(f"{label}: no rows after the header")
    return rows, problems


def _check_header(
    header: list[str], line: int, label: str, required: Sequence[str], optional: Sequence[str]
) -> None:
    duplicated = sorted({name for name in header if header.count(name) > 1})
    missing = [name for name in required if name not in header]
    unknown = [name for name in header if name not in required and name not in optional]
    problems = []
    if duplicated:
        problems.append(f"column(s) appear more than once: {', '.join(duplicated)}")
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown column(s): {', '.join(unknown)}")
    if problems:
        raise RateTableError(f"{label} line {line}: header {'; '.join(problems)}")


def _overlaps(a: tuple[date, date | None], b: tuple[date, date | None]) -> bool:
    return (a[1] is None or b[0] <= a[1]) and (b[1] is None or a[0] <= b[1])


def _describe_period(start: date, end: date | None) -> str:
    return f"{start} to {end or 'open'}"


def _overlap_problems(label: str, keyed: list[tuple[tuple[str, ...], int, tuple]]) -> list[str]:
    """keyed: (key, line, period) per valid row; name both lines of every overlapping pair."""
    problems = []
    for i, (key, line, period) in enumerate(keyed):
        for other_key, other_line, other_period in keyed[i + 1 :]:
            if key == other_key and _overlaps(period, other_period):
                problems.append(
                    f"{label} lines {line} and {other_line}: overlapping periods for "
                    f"{' '.join(key)} ({_describe_period(*period)} and "
                    f"{_describe_period(*other_period)})"
                )
    return problems


def load_charge_rates(path_or_text: str | os.PathLike[str]) -> list[ChargeRate]:
    """Load and validate ``charge_rates.csv``: a path, or CSV text (told by its line break).

    Every row is checked; all problems are reported together in one :class:`RateTableError`.
    """
    label, text = _read(path_or_text, "charge_rates.csv")
    rows, problems = _rows(text, label, CHARGE_RATE_COLUMNS[:-1], optional=("note",))
    loaded: list[ChargeRate] = []
    keyed = []
    for row in rows:
        charge = row.choice("charge", CHARGES)
        exchange = row.choice("exchange", (*EXCHANGES, ANY))
        product = row.choice("product", (*PRODUCTS, ANY))
        side = row.choice("side", (*SIDES, ANY))
        rate = row.fraction("rate")
        basis = row.choice("basis", BASES)
        period = row.period()
        if charge and basis and basis != BASIS_OF_CHARGE[charge]:
            row.fail(f"{charge} is charged on basis {BASIS_OF_CHARGE[charge]!r}, not {basis!r}")
        problems.extend(row.problems)
        if row.problems:
            continue
        loaded.append(ChargeRate(charge, exchange, product, side, rate, basis, *period))
        keyed.append(((charge, f"{exchange}/{product}/{side}"), row.line, period))
    problems.extend(_overlap_problems(label, keyed))
    if problems:
        raise RateTableError(sorted(problems, key=_line_of))
    return loaded


def load_brokerage_plans(path_or_text: str | os.PathLike[str]) -> list[BrokeragePlan]:
    """Load and validate ``brokerage_plans.csv``: a path, or CSV text (told by its line break).

    An optional ``note`` column is allowed and ignored. All problems are reported together.
    """
    label, text = _read(path_or_text, "brokerage_plans.csv")
    rows, problems = _rows(text, label, BROKERAGE_PLAN_COLUMNS, optional=("note",))
    loaded: list[BrokeragePlan] = []
    keyed = []
    for row in rows:
        code = row.text("code")
        if code and not _PLAN_CODE.fullmatch(code):
            row.fail(f"code {code!r} must be upper-case letters, digits and _")
        name = row.text("name")
        product = row.choice("product", (*PRODUCTS, ANY))
        rate = row.fraction("rate")
        cap = row.rupees("cap_per_order", blank_ok=True)
        minimum = row.rupees("minimum_per_order")
        period = row.period()
        if cap is not None and minimum is not None and minimum > cap:
            row.fail(f"minimum_per_order {minimum} is above cap_per_order {cap}")
        problems.extend(row.problems)
        if row.problems:
            continue
        loaded.append(BrokeragePlan(code, name, product, rate, cap, minimum, *period))
        keyed.append(((code, product), row.line, period))
    problems.extend(_overlap_problems(label, keyed))
    if problems:
        raise RateTableError(sorted(problems, key=_line_of))
    return loaded


def _line_of(problem: str) -> int:
    found = re.search(r" lines? (\d+)", problem)
    return int(found.group(1)) if found else 0


# --- lookup --------------------------------------------------------------------------------


def _in_force(start: date, end: date | None, on: date) -> bool:
    return start <= on and (end is None or on <= end)


def _check_choice(value: object, name: str, choices: Sequence[str]) -> None:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, not {value!r}")


def _check_date(value: object, name: str) -> None:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValueError(f"{name} must be a date, not {value!r}")


def _describe_rate(rate: ChargeRate) -> str:
    where = f"{rate.exchange}/{rate.product}/{rate.side}"
    return f"{rate.charge} {where} {_describe_period(rate.effective_from, rate.effective_to)}"


def rates_in_force(
    rates: Sequence[ChargeRate], *, on: date, exchange: str, product: str, side: str
) -> dict[str, ChargeRate]:
    """The one applicable row per charge on ``on`` for this exchange, product and side.

    A row applies when each of its exchange/product/side is ``*`` or equal to the fill's;
    the row with the most exact (non-``*``) fields wins. Two equally specific rows for one
    charge is a :class:`RateTableError`. Charges with no applicable row are simply absent.
    """
    _check_date(on, "on")
    _check_choice(exchange, "exchange", EXCHANGES)
    _check_choice(product, "product", PRODUCTS)
    _check_choice(side, "side", SIDES)
    best: dict[str, list[ChargeRate]] = {}
    best_score: dict[str, int] = {}
    for rate in rates:
        patterns = ((rate.exchange, exchange), (rate.product, product), (rate.side, side))
        if not _in_force(rate.effective_from, rate.effective_to, on) or any(
            pattern not in (ANY, value) for pattern, value in patterns
        ):
            continue
        score = sum(pattern != ANY for pattern, _ in patterns)
        if score > best_score.get(rate.charge, -1):
            best_score[rate.charge], best[rate.charge] = score, [rate]
        elif score == best_score[rate.charge]:
            best[rate.charge].append(rate)
    ambiguous = [
        f"{len(rows)} equally specific {charge} rows apply to {exchange}/{product}/{side} "
        f"on {on}: {'; '.join(_describe_rate(row) for row in rows)}"
        for charge, rows in best.items()
        if len(rows) > 1
    ]
    if ambiguous:
        raise RateTableError(ambiguous)
    return {charge: rows[0] for charge, rows in best.items()}


def plan_in_force(
    plans: Sequence[BrokeragePlan], *, code: str, on: date, product: str
) -> BrokeragePlan:
    """The row of plan ``code`` for ``product`` on ``on``; an exact product beats ``*``."""
    _check_date(on, "on")
    _check_choice(product, "product", PRODUCTS)
    known = sorted({plan.code for plan in plans})
    if code not in known:
        raise RateTableError(
            f"unknown brokerage plan {code!r} (known: {', '.join(known) or 'none'})"
        )
    candidates = [
        plan
        for plan in plans
        if plan.code == code
        and plan.product in (ANY, product)
        and _in_force(plan.effective_from, plan.effective_to, on)
    ]
    exact = [plan for plan in candidates if plan.product == product]
    chosen = exact or candidates
    if not chosen:
        raise RateTableError(f"brokerage plan {code!r} has no row for {product} in force on {on}")
    if len(chosen) > 1:
        raise RateTableError(
            f"brokerage plan {code!r} has {len(chosen)} equally specific rows "
            f"for {product} in force on {on}"
        )
    return chosen[0]


# --- computing -----------------------------------------------------------------------------


def _paisa(value: Decimal) -> Decimal:
    return value.quantize(PAISA, rounding=ROUND_HALF_UP, context=_ROUND)


def _times(rate: Decimal, base: Decimal) -> Decimal:
    try:
        return _EXACT.multiply(rate, base)
    except Inexact as exc:
        raise ValueError(f"{rate} x {base} is too large to compute exactly") from exc


def _amount(value: object, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise ValueError(f"{name} must be a Decimal, not {value!r}")
    amount = Decimal(value)
    if not amount.is_finite():
        raise ValueError(f"{name} must be a finite number, not {value!r}")
    return amount


def _brokerage(plan: BrokeragePlan, turnover: Decimal, already: Decimal) -> Decimal:
    amount = _times(plan.rate, turnover)
    if already == 0:  # the first fill of the order
        amount = max(amount, plan.minimum_per_order)
    if plan.cap_per_order is not None:
        amount = min(amount, max(Decimal(0), plan.cap_per_order - already))
    return _paisa(amount)


def charges_for_fill(
    *,
    rates: Sequence[ChargeRate],
    plans: Sequence[BrokeragePlan],
    plan_code: str,
    trade_date: date,
    exchange: str,
    product: str,
    side: str,
    quantity: int,
    price: Decimal,
    brokerage_already_charged: Decimal = Decimal(0),
) -> ChargeBreakdown:
    """The charges on one fill; ``brokerage_already_charged`` is what earlier fills of the
    same order paid in brokerage (0 for the first fill).

    Bad input raises ValueError; a missing, unknown or ambiguous table row raises
    :class:`RateTableError` (a ValueError too) naming what is missing.
    """
    _check_date(trade_date, "trade_date")
    _check_choice(exchange, "exchange", EXCHANGES)
    _check_choice(product, "product", PRODUCTS)
    _check_choice(side, "side", SIDES)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise ValueError(f"quantity must be a positive int, not {quantity!r}")
    price = _amount(price, "price")
    if price <= 0:
        raise ValueError(f"price must be more than 0, not {price}")
    already = _amount(brokerage_already_charged, "brokerage_already_charged")
    if already < 0:
        raise ValueError(f"brokerage_already_charged must not be negative, not {already}")

    plan = plan_in_force(plans, code=plan_code, on=trade_date, product=product)
    in_force = rates_in_force(rates, on=trade_date, exchange=exchange, product=product, side=side)
    missing = [charge for charge in CHARGES if charge not in in_force]
    if missing:
        raise RateTableError(
            f"no rate in force on {trade_date} for {exchange}/{product}/{side}: "
            f"{', '.join(missing)}"
        )
    for charge, row in in_force.items():
        if row.basis != BASIS_OF_CHARGE.get(charge):
            raise RateTableError(f"{_describe_rate(row)} has basis {row.basis!r}, unsupported")

    turnover = _times(Decimal(quantity), price)
    brokerage = _brokerage(plan, turnover, already)
    on_turnover = {
        charge: _paisa(_times(in_force[charge].rate, turnover))
        for charge, basis in BASIS_OF_CHARGE.items()
        if basis == "turnover"
    }
    gst_base = _EXACT.add(
        _EXACT.add(brokerage, on_turnover["exchange_transaction"]), on_turnover["sebi_fee"]
    )
    gst = _paisa(_times(in_force["gst"].rate, gst_base))
    return ChargeBreakdown(brokerage=brokerage, gst=gst, **on_turnover)
