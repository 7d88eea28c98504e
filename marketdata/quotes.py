"""The quote and bar values that providers produce and the price cache stores."""

from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Quote:
    """Top of book and day statistics of one instrument at one moment."""

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
