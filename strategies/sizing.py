"""How many shares a strategy's entry carries under the 2% rule (``risk.sizing``).

The engine trades a fixed quantity in parity mode; this is the other choice the issue
names: size each entry so that a loss at its stop risks ``risk_pct`` % of equity.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from strategies.base import Strategy, StrategyError


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
