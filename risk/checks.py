"""The pre-trade risk pipeline, called by order placement with the account row locked.

Each check is a small function of the order's ``Context`` that returns rejections (code,
message, limit, value); every failing check is reported, not only the first.

Limits are layered: firm, desk, account, account x instrument. For each kind the most
restrictive applicable value is used (for allowed products, the intersection of the
sets), and every check runs on the account's own figures. Open orders that have not
filled count towards positions and exposure as if they will, so orders that race each
other cannot jointly breach a limit: placement holds the account row lock while it
checks, and orders under an algo ID also take that algo's lock, so the algo's rate holds
across accounts. The work per order is fixed whatever the history: one query each for
the account's book (positions, holdings and working orders, read once for placement and
the checks alike) and one for the risk state (limits, kill switches, today's P&L and the
recent order counts); the quotes are fetched before the account lock.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from marketdata.models import Instrument
from marketdata.quotes import Quote
from orders.choices import LedgerKind
from orders.models import TradingAccount
from orders.validation import OrderRequest, Rejection
from risk.choices import KillSwitchMode, LimitKind
from risk.models import RiskLimit

HUNDRED = Decimal(100)
DAY_PNL_KINDS = [
    LedgerKind.REALIZED_PNL,
    LedgerKind.BROKERAGE,
    LedgerKind.STT,
    LedgerKind.EXCHANGE_TRANSACTION,
    LedgerKind.SEBI_FEE,
    LedgerKind.STAMP_DUTY,
    LedgerKind.GST,
]


@dataclass
class Exposure:
    """One instrument's position and unfilled orders, in shares."""

    net: int = 0
    pending_buy: int = 0
    pending_sell: int = 0

    @property
    def worst_long(self) -> int:
        return self.net + self.pending_buy

    @property
    def worst_short(self) -> int:
        return self.net - self.pending_sell

    @property
    def worst(self) -> int:
        return max(abs(self.worst_long), abs(self.worst_short))

    def only_reduces(self, side: str) -> bool:
        """Whether every working order on ``side`` (the new one included) could fill without
        growing or flipping the position: a reduce-only switch lets exactly these through."""
        if side == "BUY":
            return self.net < 0 and self.worst_long <= 0
        return self.net > 0 and self.worst_short >= 0


def reduces_exposure(*, side: str, quantity: int, net: int) -> bool:
    """Whether an order of ``quantity`` on ``side`` only reduces a position of ``net`` shares
    (the rule that keeps a protective stop working under a reduce-only kill switch)."""
    return (net > 0 and side == "SELL" and quantity <= net) or (
        net < 0 and side == "BUY" and quantity <= -net
    )


@dataclass
class Context:
    account: TradingAccount
    instrument: Instrument
    request: OrderRequest
    quote: Quote
    limits: dict[str, Decimal] = field(default_factory=dict)
    allowed_products: set[str] | None = None
    # By instrument key, this order included; quantities merged across products.
    exposures: dict[str, Exposure] = field(default_factory=dict)
    # Each position as (instrument key, product, quantity, average cost), for P&L and stop risk.
    positions: list[tuple[str, str, int, Decimal]] = field(default_factory=list)
    prices: dict[str, Decimal] = field(default_factory=dict)
    day_pnl: Decimal = Decimal(0)
    orders_last_second: int = 0
    algo_orders_last_second: int = 0
    switches: list = field(default_factory=list)  # risk.selectors.ActiveSwitch

    @property
    def reference_price(self) -> Decimal:
        r = self.request
        if r.order_type in ("LIMIT", "SL"):
            return r.price
        if r.order_type == "SL-M":
            return r.trigger_price
        return self.quote.ask if r.transaction_type == "BUY" else self.quote.bid

    @property
    def order_value(self) -> Decimal:
        return self.request.quantity * self.reference_price


def effective_limits(
    account: TradingAccount, instrument: Instrument | None = None
) -> tuple[dict[str, Decimal], set[str] | None]:
    """The most restrictive value of each limit kind that applies (without ``instrument``, the
    account-wide layers only), and the allowed products (None: no restriction)."""
    layers = Q(target="firm") | Q(desk__accounts=account) | Q(target=f"account:{account.pk}")
    if instrument is not None:
        layers |= Q(target=f"account:{account.pk}:instrument:{instrument.pk}")
    rows = RiskLimit.objects.filter(layers).distinct().values_list("kind", "value", "products")
    return most_restrictive(rows)


def most_restrictive(
    rows: Iterable[tuple[str, Decimal | None, str]],
) -> tuple[dict[str, Decimal], set[str] | None]:
    """From the (kind, value, products) rows that apply: the smallest value of each kind, and
    the intersection of the allowed products (None: no restriction)."""
    limits: dict[str, Decimal] = {}
    products: set[str] | None = None
    for kind, value, listed in rows:
        if kind == LimitKind.ALLOWED_PRODUCTS:
            allowed = {p.strip() for p in listed.split(",") if p.strip()}
            products = allowed if products is None else products & allowed
        elif value is not None:
            limits[kind] = min(limits.get(kind, value), value)
    return limits, products


def build_context(
    *, account, instrument, request, quote, prices=None, book=None, replacing=None
) -> Context:
    """What the checks need; ``replacing`` is a working order being modified, which counts
    as this request instead of as itself.

    ``prices`` are the quotes of the account's instruments, fetched before the account lock
    was taken (``orders.services``): no quote is fetched here, under the lock. An instrument
    missing from them (a position opened meanwhile) is valued at its average price.
    ``book`` is the account's positions and working orders (``orders.selectors``)."""
    from orders import locks
    from orders.selectors import account_book
    from risk.selectors import risk_state

    now = timezone.now()
    if request.algo_id:
        locks.algo(request.algo_id)  # after the account lock, always in that order
    state = risk_state(
        account_pk=account.pk, instrument_pk=instrument.pk, algo_id=request.algo_id,
        day_start=timezone.make_aware(datetime.combine(timezone.localdate(now), time.min)),
        now=now,
    )  # fmt: skip
    limits, products = most_restrictive(state.limits)
    context = Context(account, instrument, request, quote, limits=limits, allowed_products=products)
    exposures = context.exposures
    book = book or account_book(account.pk)
    for position in book.positions:
        exposures.setdefault(position.key, Exposure()).net += position.quantity
        context.positions.append(
            (position.key, position.product, position.quantity, position.average_price)
        )
    for order in book.working:
        if replacing is not None and order.pk == replacing.pk:
            continue
        exposure = exposures.setdefault(order.key, Exposure())
        if order.side == "BUY":
            exposure.pending_buy += order.quantity - order.filled_quantity
        else:
            exposure.pending_sell += order.quantity - order.filled_quantity
    this = exposures.setdefault(instrument.key, Exposure())
    if request.transaction_type == "BUY":
        this.pending_buy += request.quantity
    else:
        this.pending_sell += request.quantity
    context.prices = {key: q.last_price for key, q in (prices or {}).items()}
    for key, _product, _net, average in context.positions:
        context.prices.setdefault(key, average)
    context.prices[instrument.key] = quote.last_price
    context.day_pnl = state.day_pnl
    context.orders_last_second = state.orders_last_second
    context.algo_orders_last_second = state.algo_orders_last_second
    context.switches = state.switches
    return context


# --- The checks ------------------------------------------------------------------------------


def kill_switches(c: Context) -> list[Rejection]:
    """A halting switch refuses every order; a reduce-only one refuses an order that could
    grow or flip the account's position in the instrument."""
    side = c.request.transaction_type
    exposure = c.exposures[c.instrument.key]
    rejections = []
    for s in c.switches:
        if s.mode == KillSwitchMode.HALT:
            message = f"Trading is halted by the {s.level} kill switch: {s.reason}"
        elif exposure.only_reduces(side):
            continue
        else:
            message = (
                f"The {s.level} kill switch allows only orders that reduce exposure ({s.reason}): "
                f"the position is {exposure.net}, and with this order the working "
                f"{side.lower()}s come to "
                f"{exposure.pending_buy if side == 'BUY' else exposure.pending_sell}"
            )
        rejections.append(Rejection("KILL_SWITCH", message, value=f"{s.level} {s.mode}"))
    return rejections


def allowed_products(c: Context) -> list[Rejection]:
    if c.allowed_products is not None and c.request.product not in c.allowed_products:
        allowed = ",".join(sorted(c.allowed_products)) or "none"
        return [
            Rejection(
                "PRODUCT_NOT_ALLOWED",
                f"{c.request.product} is not allowed here.",
                allowed,
                c.request.product,
            )
        ]
    return []


def surveillance(c: Context) -> list[Rejection]:
    if c.instrument.under_surveillance and c.request.product != "CNC":
        stage = c.instrument.asm_stage or f"GSM {c.instrument.gsm_stage}"
        return [
            Rejection(
                "SURVEILLANCE_CNC_ONLY",
                f"{c.instrument.key} is under {stage}: delivery (CNC) only.",
                "CNC",
                c.request.product,
            )
        ]
    return []


def shown(value: Decimal) -> str:
    """A limit or value as people write it: 10, not 10.00; 15000.50 stays as it is."""
    return str(int(value)) if value == value.to_integral_value() else str(value)


def _over(c: Context, kind: str, value: Decimal, code: str, message: str) -> list[Rejection]:
    limit = c.limits.get(kind)
    if limit is not None and value > limit:
        return [Rejection(code, message, shown(limit), shown(value))]
    return []


def order_size(c: Context) -> list[Rejection]:
    return _over(
        c,
        LimitKind.MAX_ORDER_QUANTITY,
        Decimal(c.request.quantity),
        "MAX_ORDER_QUANTITY",
        "Order quantity is above the limit.",
    ) + _over(
        c,
        LimitKind.MAX_ORDER_VALUE,
        c.order_value.quantize(Decimal("0.01")),
        "MAX_ORDER_VALUE",
        "Order value is above the limit.",
    )


def fat_finger(c: Context) -> list[Rejection]:
    limit = c.limits.get(LimitKind.FAT_FINGER_PCT)
    price, last = c.request.price, c.quote.last_price
    if limit is None or price is None or not last:
        return []
    deviation = abs(price - last) / last * HUNDRED  # compared exactly, rounded only for people
    if deviation > limit:
        pct = deviation.quantize(Decimal("0.0001"))
        message = f"The price is {pct} % away from the last price {last}."
        return [Rejection("FAT_FINGER", message, shown(limit), str(pct))]
    return []


def order_rate(c: Context) -> list[Rejection]:
    found = _over(
        c,
        LimitKind.ORDER_RATE_PER_SECOND,
        Decimal(c.orders_last_second + 1),
        "ORDER_RATE",
        "Too many orders from this account in the last second.",
    )
    if c.request.algo_id:
        found += _over(
            c,
            LimitKind.ORDER_RATE_PER_SECOND,
            Decimal(c.algo_orders_last_second + 1),
            "ALGO_ORDER_RATE",
            f"Too many orders under algo ID {c.request.algo_id} in the last second.",
        )
    return found


def position_limits(c: Context) -> list[Rejection]:
    this = c.exposures[c.instrument.key]
    worst = Decimal(this.worst)
    price = c.prices[c.instrument.key]
    return _over(
        c,
        LimitKind.MAX_POSITION_QUANTITY,
        worst,
        "MAX_POSITION_QUANTITY",
        "The position, with open orders filled, would be above the limit.",
    ) + _over(
        c,
        LimitKind.MAX_POSITION_VALUE,
        (worst * price).quantize(Decimal("0.01")),
        "MAX_POSITION_VALUE",
        "The position's value, with open orders filled, would be above the limit.",
    )


def exposure_limits(c: Context) -> list[Rejection]:
    open_count = sum(1 for e in c.exposures.values() if e.worst)
    gross = sum(
        (Decimal(e.worst) * c.prices.get(k, Decimal(0)) for k, e in c.exposures.items()), Decimal(0)
    )
    # Net: long minus short if every open order filled.
    net = abs(
        sum(
            (
                Decimal(e.net + e.pending_buy - e.pending_sell) * c.prices.get(k, Decimal(0))
                for k, e in c.exposures.items()
            ),
            Decimal(0),
        )
    )
    return (
        _over(
            c,
            LimitKind.MAX_OPEN_POSITIONS,
            Decimal(open_count),
            "MAX_OPEN_POSITIONS",
            "Too many instruments would be open.",
        )
        + _over(
            c,
            LimitKind.MAX_GROSS_EXPOSURE,
            gross.quantize(Decimal("0.01")),
            "MAX_GROSS_EXPOSURE",
            "Gross exposure would be above the limit.",
        )
        + _over(
            c,
            LimitKind.MAX_NET_EXPOSURE,
            net.quantize(Decimal("0.01")),
            "MAX_NET_EXPOSURE",
            "Net exposure would be above the limit.",
        )
    )


def daily_loss(c: Context) -> list[Rejection]:
    mtm = sum(((c.prices.get(k, avg) - avg) * qty for k, _, qty, avg in c.positions), Decimal(0))
    loss = -(c.day_pnl + mtm).quantize(Decimal("0.01"))
    if loss <= 0:
        return []
    message = "Today's loss (realized and marked to market) is at the limit."
    return _over(c, LimitKind.MAX_DAILY_LOSS, loss, "MAX_DAILY_LOSS", message)


def risk_per_trade(c: Context) -> list[Rejection]:
    """A stop order must not risk more than the limit's share of equity (cash): the loss if it
    triggers, from the position's average cost when it protects one, else from the last price."""
    limit = c.limits.get(LimitKind.MAX_RISK_PER_TRADE_PCT)
    if limit is None or c.request.order_type not in ("SL", "SL-M") or c.account.cash_balance <= 0:
        return []
    key, product = c.instrument.key, c.request.product
    held = [avg for k, p, _, avg in c.positions if k == key and p == product]
    entry = held[0] if held else c.quote.last_price
    stop = c.request.trigger_price
    per_share = entry - stop if c.request.transaction_type == "SELL" else stop - entry
    risk = (c.request.quantity * max(per_share, Decimal(0))).quantize(Decimal("0.01"))
    allowed = (c.account.cash_balance * limit / HUNDRED).quantize(Decimal("0.01"))
    if risk > allowed:
        return [
            Rejection(
                "RISK_PER_TRADE",
                f"The stop risks {risk}, more than {limit} % of equity.",
                shown(allowed),
                shown(risk),
            )
        ]
    return []


#: The pipeline, in order. Each check is small and independent; all of them run.
CHECKS: list[Callable[[Context], list[Rejection]]] = [
    kill_switches,
    allowed_products,
    surveillance,
    order_size,
    fat_finger,
    order_rate,
    position_limits,
    exposure_limits,
    daily_loss,
    risk_per_trade,
]


def run_all(
    *, account, instrument, request, quote, prices=None, book=None, replacing=None
) -> list[Rejection]:
    """The hook order placement and modification call (ORDERS_PRE_TRADE_CHECKS)."""
    context = build_context(
        account=account, instrument=instrument, request=request, quote=quote, prices=prices,
        book=book, replacing=replacing,
    )  # fmt: skip
    found: list[Rejection] = []
    for check in CHECKS:
        found += check(context)
    return found
