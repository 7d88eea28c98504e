"""Position sizing: how many shares an entry may carry so that its stop risks a share of equity."""

from decimal import Decimal


def position_size(
    *, equity: Decimal, risk_pct: Decimal, entry: Decimal, stop: Decimal, lot_size: int = 1
) -> int:
    """The most whole lots whose loss at the stop stays within ``risk_pct`` % of ``equity``."""
    if equity <= 0:
        raise ValueError("equity must be positive")
    if not Decimal(0) < risk_pct <= Decimal(100):
        raise ValueError("risk_pct must be more than 0 and at most 100")
    if entry <= 0 or stop <= 0:
        raise ValueError("entry and stop must be positive prices")
    if entry == stop:
        raise ValueError("the stop must differ from the entry")
    if lot_size < 1:
        raise ValueError("lot_size must be at least 1")
    budget = equity * risk_pct / 100
    shares = int(budget / abs(entry - stop))
    return shares // lot_size * lot_size
