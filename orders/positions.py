"""Position arithmetic: average cost and realized P&L when a fill adds to or reduces a position."""

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

AVERAGE_PLACES = Decimal("0.0001")
PAISA = Decimal("0.01")


@dataclass(frozen=True)
class PositionState:
    quantity: int  # positive long, negative short
    average_price: Decimal
    realized_pnl: Decimal


def position_after_fill(
    state: PositionState, *, side: str, quantity: int, price: Decimal
) -> PositionState:
    """Apply one fill. Adding keeps a weighted average cost; reducing realizes P&L against it;
    crossing through zero closes the old side and opens the new one at the fill price."""
    signed = quantity if side == "BUY" else -quantity
    q, avg, realized = state.quantity, state.average_price, state.realized_pnl
    if q == 0 or (q > 0) == (signed > 0):
        total = abs(q) + quantity
        new_avg = ((abs(q) * avg + quantity * price) / total).quantize(
            AVERAGE_PLACES, ROUND_HALF_EVEN
        )
        return PositionState(q + signed, new_avg, realized)
    closing = min(abs(q), quantity)
    direction = 1 if q > 0 else -1  # a long gains when the price rose, a short when it fell
    realized += (direction * (price - avg) * closing).quantize(PAISA, ROUND_HALF_EVEN)
    remaining = q + signed
    if remaining == 0:
        return PositionState(0, Decimal("0"), realized)
    if (remaining > 0) == (q > 0):
        return PositionState(remaining, avg, realized)
    return PositionState(remaining, price, realized)  # flipped: the rest opens at the fill price
