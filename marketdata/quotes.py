"""The quote and bar values that providers produce and the price cache stores."""

from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal

#: Levels of market depth a full quote carries on each side, as the exchanges publish.
DEPTH_LEVELS = 5


@dataclass(frozen=True, slots=True)
class DepthLevel:
    """One price level of the book: its price, the quantity resting there, in how many orders."""

    price: Decimal
    quantity: int
    orders: int


@dataclass(frozen=True, slots=True)
class Quote:
    """Top of book and day statistics of one instrument at one moment; ``bids`` and
    ``asks`` are the book's best levels (up to DEPTH_LEVELS, best first, the first one the
    bid and ask), empty where the provider gives only the top of the book."""

    instrument: str  # "NSE:INFY"
    last_price: Decimal
    bid: Decimal
    bid_quantity: int
    ask: Decimal
    ask_quantity: int
    open: Decimal
    high: Decimal
    low: Decimal
    prev_close: Decimal
    volume: int
    timestamp: datetime  # aware
    bids: tuple[DepthLevel, ...] = ()
    asks: tuple[DepthLevel, ...] = ()

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class OHLCV:
    """One bar as a provider hands it over (prices in rupees, exact)."""

    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
