"""The paper exchange's matching rules: how one working order meets one quote.

Pure functions, no Django. ``match`` applies one quote (a ``Touch``) to one order:

- Triggers. A BUY SL/SL-M triggers when last_price >= trigger_price, a SELL when
  last_price <= trigger_price. Once triggered it stays triggered; an SL then works as
  a LIMIT at its price, an SL-M as a MARKET order. An untriggered stop never fills.
  A stop that triggers on a quote is matched against that same quote.
- Marketable. A buy fills against the ask, a sell against the bid. MARKET (and a
  triggered SL-M) always is; a LIMIT (and a triggered SL) BUY when ask <= price, a
  SELL when bid >= price.
- Price. Limit orders fill at the touch (never worse than the limit). Market orders
  fill at the touch moved by ``slippage_bps``: a buy at ask x (1 + bps/10000) rounded
  UP to the tick, a sell at bid x (1 - bps/10000) rounded DOWN, never below one tick.
- Size. available = floor(quoted size on the touched side x participation [x jitter]),
  rounded down to whole lots; the fill is min(remaining, available), nothing if 0.
  One call gives at most one Execution (one quote, one print).
- IOC. What did not fill on this call is cancelled. The IOC takes effect once the
  order is live: an untriggered IOC stop waits for its trigger, and is cancelled on
  the quote that triggers it. A DAY order keeps working for the next quote.
- Determinism. The same (order, touch, config) always gives the same result. With
  ``MatchingConfig.size_jitter`` on, the share of the quoted size on offer varies per
  quote between 50 % and 100 % of ``participation``; the factor comes only from a
  SHA-256 of (seed, order_id, touch.sequence), so a seed replays exactly and
  different seeds give different partial fills. With it off (the default) no
  randomness is used and the seed is ignored.

Bad input raises ValueError with the reason. Bid and ask must lie on the tick grid,
and ``remaining`` must be a whole number of lots.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext

SIDES = ("BUY", "SELL")
ORDER_TYPES = ("MARKET", "LIMIT", "SL", "SL-M")
VALIDITIES = ("DAY", "IOC")
STOP_TYPES = ("SL", "SL-M")
BPS = Decimal(10000)
JITTER_FLOOR_BPS = 5000  # with size_jitter, at least half of the participation is offered


@dataclass(frozen=True)
class Touch:
    """What the exchange sees of one instrument at one moment."""

    last_price: Decimal
    bid: Decimal
    bid_quantity: int
    ask: Decimal
    ask_quantity: int
    tick_size: Decimal  # e.g. Decimal("0.05")
    sequence: int  # increases with every quote update; feeds the seeded jitter


@dataclass(frozen=True)
class WorkingOrder:
    """The part of an open order the exchange needs to match it."""

    order_id: str
    side: str  # "BUY" | "SELL"
    order_type: str  # "MARKET" | "LIMIT" | "SL" | "SL-M"
    validity: str  # "DAY" | "IOC"
    remaining: int  # shares still to fill, > 0, a whole number of lots
    lot_size: int  # fills are whole multiples of the lot
    price: Decimal | None  # limit price (LIMIT, SL)
    trigger_price: Decimal | None  # SL, SL-M
    triggered: bool = False  # an SL/SL-M whose trigger has been hit


@dataclass(frozen=True)
class Execution:
    """One print: a quantity at a price on the tick grid."""

    quantity: int
    price: Decimal


@dataclass(frozen=True)
class MatchResult:
    """What one quote did to one order."""

    executions: tuple[Execution, ...]
    triggered: bool  # the order's triggered flag after this quote
    cancel_remaining: bool  # IOC: whatever did not fill now is cancelled
    remaining: int  # after the executions


@dataclass(frozen=True)
class MatchingConfig:
    """How the paper exchange behaves; see the module docstring."""

    slippage_bps: Decimal = Decimal("0")  # market orders only, in basis points of the touch
    seed: int = 0
    participation: Decimal = Decimal("1")  # share of the quoted size one order may take
    size_jitter: bool = False  # vary the share per quote (50-100 %), seeded


def _positive_price(value: Decimal | None, name: str) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"{name} must be a finite Decimal, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")


def _validate_order(order: WorkingOrder) -> None:
    if order.side not in SIDES:
        raise ValueError(f"side must be one of {', '.join(SIDES)}, got {order.side!r}")
    if order.order_type not in ORDER_TYPES:
        raise ValueError(
            f"order_type must be one of {', '.join(ORDER_TYPES)}, got {order.order_type!r}"
        )
    if order.validity not in VALIDITIES:
        raise ValueError(f"validity must be one of {', '.join(VALIDITIES)}, got {order.validity!r}")
    if order.lot_size <= 0:
        raise ValueError(f"lot_size must be positive, got {order.lot_size}")
    if order.remaining <= 0:
        raise ValueError(f"remaining must be positive, got {order.remaining}")
    if order.remaining % order.lot_size:
        raise ValueError(
            f"remaining {order.remaining} is not a whole number of lots of {order.lot_size}"
        )
    if order.order_type in ("LIMIT", "SL"):
        if order.price is None:
            raise ValueError(f"a {order.order_type} order needs a price")
        _positive_price(order.price, "price")
    if order.order_type in STOP_TYPES:
        if order.trigger_price is None:
            raise ValueError(f"an {order.order_type} order needs a trigger_price")
        _positive_price(order.trigger_price, "trigger_price")
    elif order.triggered:
        raise ValueError(f"only SL and SL-M orders can be triggered, not {order.order_type}")


def _validate_touch(touch: Touch) -> None:
    _positive_price(touch.tick_size, "tick_size")
    _positive_price(touch.last_price, "last_price")
    _positive_price(touch.bid, "bid")
    _positive_price(touch.ask, "ask")
    if touch.bid > touch.ask:
        raise ValueError(f"crossed quote: bid {touch.bid} > ask {touch.ask}")
    for name, value in (("bid", touch.bid), ("ask", touch.ask)):
        if value % touch.tick_size:
            raise ValueError(f"{name} {value} is not on the tick grid of {touch.tick_size}")
    if touch.bid_quantity < 0 or touch.ask_quantity < 0:
        raise ValueError(
            f"quoted sizes must not be negative, got bid_quantity {touch.bid_quantity} "
            f"and ask_quantity {touch.ask_quantity}"
        )


def _validate_config(config: MatchingConfig) -> None:
    p = config.participation
    if not isinstance(p, Decimal) or not p.is_finite() or not 0 < p <= 1:
        raise ValueError(f"participation must be in (0, 1], got {p!r}")
    s = config.slippage_bps
    if not isinstance(s, Decimal) or not s.is_finite() or s < 0:
        raise ValueError(f"slippage_bps must be a non-negative Decimal, got {s!r}")


def jitter_bps(seed: int, order_id: str, sequence: int) -> int:
    """The seeded share (5000..10000 bps) of ``participation`` offered on one quote."""
    key = json.dumps([seed, order_id, sequence]).encode()
    draw = int.from_bytes(hashlib.sha256(key).digest()[:8], "big")
    return JITTER_FLOOR_BPS + draw % (int(BPS) - JITTER_FLOOR_BPS + 1)


def is_triggered(order: WorkingOrder, last_price: Decimal) -> bool:
    """Whether a stop order is triggered after seeing ``last_price`` (True for non-stops)."""
    if order.order_type not in STOP_TYPES or order.triggered:
        return True
    trigger = order.trigger_price
    if trigger is None:
        raise ValueError(f"an {order.order_type} order needs a trigger_price")
    return last_price >= trigger if order.side == "BUY" else last_price <= trigger


def _to_tick(value: Decimal, tick: Decimal, rounding: str) -> Decimal:
    return (value / tick).to_integral_value(rounding=rounding) * tick


def _fill_price(order: WorkingOrder, touch: Touch, config: MatchingConfig) -> Decimal | None:
    """The price this quote fills ``order`` at, or None when it is not marketable."""
    buy = order.side == "BUY"
    quote = touch.ask if buy else touch.bid
    if order.order_type in ("LIMIT", "SL"):
        limit = order.price
        if limit is None:
            raise ValueError(f"a {order.order_type} order needs a price")
        marketable = quote <= limit if buy else quote >= limit
        return quote if marketable else None
    with localcontext() as ctx:
        ctx.prec = 60
        if buy:
            price = _to_tick(
                quote * (1 + config.slippage_bps / BPS), touch.tick_size, ROUND_CEILING
            )
        else:
            price = _to_tick(quote * (1 - config.slippage_bps / BPS), touch.tick_size, ROUND_FLOOR)
    return max(price, touch.tick_size)


def _available(order: WorkingOrder, touch: Touch, config: MatchingConfig) -> int:
    """Shares this quote offers the order: a whole number of lots, possibly 0."""
    quoted = touch.ask_quantity if order.side == "BUY" else touch.bid_quantity
    with localcontext() as ctx:
        ctx.prec = 60
        share = Decimal(quoted) * config.participation
        if config.size_jitter:
            share = share * jitter_bps(config.seed, order.order_id, touch.sequence) / BPS
        shares = int(share.to_integral_value(rounding=ROUND_FLOOR))
    return shares // order.lot_size * order.lot_size


def match(order: WorkingOrder, touch: Touch, config: MatchingConfig) -> MatchResult:
    """Apply one quote to one working order; see the module docstring for the rules."""
    _validate_order(order)
    _validate_touch(touch)
    _validate_config(config)
    if not is_triggered(order, touch.last_price):
        return MatchResult(
            executions=(), triggered=False, cancel_remaining=False, remaining=order.remaining
        )
    triggered = order.order_type in STOP_TYPES
    executions: tuple[Execution, ...] = ()
    price = _fill_price(order, touch, config)
    if price is not None:
        quantity = min(order.remaining, _available(order, touch, config))
        if quantity > 0:
            executions = (Execution(quantity=quantity, price=price),)
    remaining = order.remaining - sum(e.quantity for e in executions)
    return MatchResult(
        executions=executions,
        triggered=triggered,
        cancel_remaining=order.validity == "IOC" and remaining > 0,
        remaining=remaining,
    )


def replay(
    order: WorkingOrder, touches: Sequence[Touch], config: MatchingConfig
) -> tuple[list[Execution], WorkingOrder | None]:
    """Match ``order`` against a stream of quotes, carrying remaining and triggered forward.

    Stops when the order is filled or cancelled. Returns every execution and the order
    still working after the last quote, or None when it is done.
    """
    _validate_order(order)
    executions: list[Execution] = []
    current = order
    for touch in touches:
        result = match(current, touch, config)
        executions.extend(result.executions)
        if result.remaining == 0 or result.cancel_remaining:
            return executions, None
        current = replace(current, remaining=result.remaining, triggered=result.triggered)
    return executions, current
