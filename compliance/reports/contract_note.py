"""A contract note as data: what a day's fills of one client say, in SEBI's layout's terms.

Pure: no database. :func:`contract_note_build` takes the fills' figures as stored on
``orders.Fill`` (``charges`` is ``ChargeBreakdown.as_dict()``: brokerage, stt,
exchange_transaction, sebi_fee, stamp_duty, gst and total, each a string in rupees with two
places) and adds them up. Nothing is recomputed from the rate tables, so the note's totals
are the sum of the fills' charges to the paisa.

Rounding (see ``orders/charges.py``): every charge was rounded to the paisa, half up, on each
fill, GST on the sum of that fill's already-rounded brokerage, exchange transaction charge
and SEBI fee. The note only adds those paise, which is exact. Two figures are derived here:

- Brokerage per unit = the fill's brokerage / quantity, rounded half up to 4 places (as
  contract notes print it); net rate per unit = gross rate + brokerage per unit for a buy,
  minus for a sell. The net total is quantity x gross rate +/- the fill's brokerage, exact
  (not quantity x the rounded net rate), so the trades add up to the obligation.
- GST: the fills' GST added up. When the client's state is the broker's it is split into
  CGST = half, rounded half up to the paisa, and SGST = the rest (so CGST + SGST is the GST);
  otherwise it is all IGST.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

PAISA = Decimal("0.01")
PER_UNIT = Decimal("0.0001")
SIDES = ("BUY", "SELL")
PRODUCTS = ("CNC", "MIS")
#: The keys of ``Fill.charges`` (``ChargeBreakdown.as_dict()``), total last.
CHARGE_KEYS = ("brokerage", "stt", "exchange_transaction", "sebi_fee", "stamp_duty", "gst")


@dataclass(frozen=True)
class Broker:
    name: str
    sebi_registration: str
    trading_member_code: str
    address: str
    state: str
    gstin: str
    compliance_officer_name: str
    compliance_officer_email: str
    compliance_officer_phone: str


@dataclass(frozen=True)
class NoteClient:
    name: str
    ucc: str
    pan: str
    address: str
    state: str


@dataclass(frozen=True)
class FillFigures:
    """What a note needs of one ``orders.Fill`` (and its order)."""

    order_number: str
    order_time: datetime
    trade_number: str  # the broker's fill id
    trade_time: datetime  # Fill.filled_at
    trade_date: date  # Fill.trade_date (IST)
    symbol: str
    isin: str
    side: str  # BUY or SELL
    product: str  # CNC or MIS
    quantity: int
    price: Decimal
    charges: dict[str, str]  # Fill.charges as stored


@dataclass(frozen=True)
class NoteTrade:
    order_number: str
    order_time: datetime
    trade_number: str
    trade_time: datetime
    symbol: str
    isin: str
    side: str
    quantity: int
    gross_rate: Decimal
    brokerage_per_unit: Decimal  # 4 places
    net_rate: Decimal  # 4 places
    net_total: Decimal  # paise; a buy's cost or a sell's proceeds, after brokerage
    product: str


@dataclass(frozen=True)
class Obligation:
    stt: Decimal
    exchange_transaction: Decimal
    sebi_fee: Decimal
    stamp_duty: Decimal
    cgst: Decimal
    sgst: Decimal
    igst: Decimal
    brokerage: Decimal
    net_amount: Decimal  # never negative; see payable_by_client
    payable_by_client: bool  # False: receivable by the client

    @property
    def gst(self) -> Decimal:
        return self.cgst + self.sgst + self.igst

    @property
    def charges_total(self) -> Decimal:
        return (
            self.brokerage
            + self.stt
            + self.exchange_transaction
            + self.sebi_fee
            + self.stamp_duty
            + self.gst
        )


@dataclass(frozen=True)
class ContractNote:
    number: str
    trade_date: date
    settlement_number: str
    broker: Broker
    client: NoteClient
    trades: tuple[NoteTrade, ...]
    obligation: Obligation
    generated_at: datetime
    supplements: str = ""  # a supplementary note: the number of the day's note it adds to


def _paise(value: object, where: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except ArithmeticError as exc:
        raise ValueError(f"{where}: {value!r} is not an amount") from exc
    if not amount.is_finite() or amount != amount.quantize(PAISA) or amount < 0:
        raise ValueError(f"{where}: {value!r} is not a whole, non-negative number of paise")
    return amount


def _fill_charges(fill: FillFigures) -> dict[str, Decimal]:
    where = f"fill {fill.trade_number}"
    if not isinstance(fill.charges, dict):
        raise ValueError(f"{where}: charges must be a dict, not {fill.charges!r}")
    missing = [key for key in (*CHARGE_KEYS, "total") if key not in fill.charges]
    if missing:
        raise ValueError(f"{where}: charges lack {', '.join(missing)}")
    parts = {key: _paise(fill.charges[key], f"{where} {key}") for key in CHARGE_KEYS}
    total = _paise(fill.charges["total"], f"{where} total")
    if sum(parts.values(), Decimal(0)) != total:
        raise ValueError(
            f"{where}: charges do not add up to their total "
            f"({' + '.join(str(v) for v in parts.values())} != {total})"
        )
    return parts


def _check_fill(fill: FillFigures) -> None:
    where = f"fill {fill.trade_number}"
    if fill.side not in SIDES:
        raise ValueError(f"{where}: side must be BUY or SELL, not {fill.side!r}")
    if fill.product not in PRODUCTS:
        raise ValueError(f"{where}: product must be CNC or MIS, not {fill.product!r}")
    if isinstance(fill.quantity, bool) or not isinstance(fill.quantity, int) or fill.quantity <= 0:
        raise ValueError(f"{where}: quantity must be a positive int, not {fill.quantity!r}")
    if not isinstance(fill.price, Decimal) or not fill.price.is_finite() or fill.price <= 0:
        raise ValueError(f"{where}: price must be a positive Decimal, not {fill.price!r}")


def contract_note_build(
    *,
    number: str,
    trade_date: date,
    settlement_number: str,
    broker: Broker,
    client: NoteClient,
    fills: list[FillFigures],
    generated_at: datetime | None = None,
    supplements: str = "",
) -> ContractNote:
    """The contract note of ``client``'s ``fills`` on ``trade_date``, trades in time order.

    ``generated_at`` defaults to now; pass it to get the same note (and files) again.
    ``supplements``: for a supplementary note (fills that arrived after the day's note), the
    number of that note; the figures are of ``fills`` alone.
    Raises ValueError naming the problem: no fills, a fill of another trade date, a bad side,
    product, quantity or price, or a fill whose charges do not add up to its total.
    """
    if not fills:
        raise ValueError("a contract note needs at least one fill; none were given")
    other_days = sorted({f.trade_date for f in fills if f.trade_date != trade_date})
    if other_days:
        raise ValueError(
            f"mixed trade dates: the note is for {trade_date} but fills are of "
            f"{', '.join(str(d) for d in other_days)}"
        )
    totals = dict.fromkeys(CHARGE_KEYS, Decimal("0.00"))
    trades = []
    cash = Decimal("0.00")  # what the client receives; negative: what the client pays
    for fill in sorted(fills, key=lambda f: (f.trade_time, f.trade_number)):
        _check_fill(fill)
        parts = _fill_charges(fill)
        for key, value in parts.items():
            totals[key] += value
        sign = 1 if fill.side == "BUY" else -1
        per_unit = (parts["brokerage"] / fill.quantity).quantize(PER_UNIT, ROUND_HALF_UP)
        turnover = fill.quantity * fill.price
        net_total = (turnover + sign * parts["brokerage"]).quantize(PAISA, ROUND_HALF_UP)
        cash += -turnover if fill.side == "BUY" else turnover
        trades.append(
            NoteTrade(
                order_number=fill.order_number,
                order_time=fill.order_time,
                trade_number=fill.trade_number,
                trade_time=fill.trade_time,
                symbol=fill.symbol,
                isin=fill.isin,
                side=fill.side,
                quantity=fill.quantity,
                gross_rate=fill.price,
                brokerage_per_unit=per_unit,
                net_rate=fill.price + sign * per_unit,
                net_total=net_total,
                product=fill.product,
            )
        )
    cash -= sum(totals.values(), Decimal(0))
    # Turnover has the price's places; rupees-and-paise prices keep it a whole paisa.
    cash = cash.quantize(PAISA, ROUND_HALF_UP)
    gst = totals["gst"]
    same_state = client.state.strip().casefold() == broker.state.strip().casefold()
    cgst = (gst / 2).quantize(PAISA, ROUND_HALF_UP) if same_state else Decimal("0.00")
    sgst = gst - cgst if same_state else Decimal("0.00")
    obligation = Obligation(
        stt=totals["stt"],
        exchange_transaction=totals["exchange_transaction"],
        sebi_fee=totals["sebi_fee"],
        stamp_duty=totals["stamp_duty"],
        cgst=cgst,
        sgst=sgst,
        igst=Decimal("0.00") if same_state else gst,
        brokerage=totals["brokerage"],
        net_amount=abs(cash),
        payable_by_client=cash < 0,
    )
    return ContractNote(
        number=number,
        trade_date=trade_date,
        settlement_number=settlement_number,
        broker=broker,
        client=client,
        trades=tuple(trades),
        obligation=obligation,
        generated_at=generated_at or datetime.now(UTC),
        supplements=supplements,
    )
