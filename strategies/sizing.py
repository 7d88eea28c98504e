"""How many shares a strategy's entry carries under the 2% rule (``risk.sizing``).

A run or deployment trades a fixed quantity, or sizes each entry so that a loss at its
stop risks ``risk_pct`` % of equity: :func:`entry_shares`, which the backtest engine and
the live path both call, so they size alike.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

from strategies.base import Strategy, StrategyError

#: The ATR period a risk-sized stop is measured in, in backtests and live alike.
ATR_PERIOD = 14


def quantity_for(
    strategy: Strategy | None,
    equity: float | Decimal,
    entry_price: float | Decimal,
    stop_price: float | Decimal,
    risk_pct: float | Decimal = 2,
) -> int:
    """Whole shares whose loss from ``entry_price`` to ``stop_price`` is at most ``risk_pct``
    % of ``equity`` (``risk.sizing.position_size``); StrategyError naming the problem. A
    long-only strategy's stop must be below its entry."""
    from risk.sizing import position_size  # lazily: risk is a Django app

    who = strategy.name if strategy is not None else "sizing"
    try:
        amounts = [Decimal(str(v)) for v in (equity, entry_price, stop_price, risk_pct)]
    except InvalidOperation:
        amounts = []
    if len(amounts) != 4 or not all(a.is_finite() for a in amounts):
        raise StrategyError(f"{who}: equity, prices and risk_pct must be finite numbers")
    equity_d, entry, stop, pct = amounts
    if strategy is not None and not strategy.shorts and stop >= entry:
        raise StrategyError(f"{who}: a long's stop ({stop}) must be below its entry ({entry})")
    try:
        return position_size(equity=equity_d, risk_pct=pct, entry=entry, stop=stop)
    except ValueError as error:
        raise StrategyError(f"{who}: {error}") from None


def entry_shares(
    *, equity: float, close: float, average_range: float, direction: float, risk_pct: float,
    stop_atr: float,
) -> int:  # fmt: skip
    """The shares of an entry decided at ``close``: those whose loss at a stop ``stop_atr``
    x ``average_range`` (the ATR) away, below a long and above a short, is ``risk_pct`` %
    of ``equity``, and at most what ``equity`` buys at ``close``. A stop that would be at
    or below 0 is put at half the close. 0 when the entry cannot be sized: the ATR still
    unknown (warm-up) or no equity left."""
    distance = stop_atr * average_range
    if not (math.isfinite(distance) and distance > 0 and equity > 0 and close > 0):
        return 0
    stop = max(close - direction * distance, close / 2)
    return min(quantity_for(None, equity, close, stop, risk_pct), int(equity // close))
