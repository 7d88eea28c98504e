"""One-minute bars built from the live feed's quotes, closed as each minute ends.

The feed (``marketdata.feed.feed_run``) hands every tick's quotes to one
:class:`MinuteBars`. A quote updates the bar of the minute it falls in (IST minutes, the
exchange's). When the clock passes into a new minute, the bars of the minute before are
**closed**: written to the ``Bar`` table as ``1m`` bars (an upsert: a restarted feed
rewrites its minute) and announced with :data:`bars_closed`, on which strategy
deployments step (``strategies.live``). A bar's volume is what the day's traded volume
grew by during the minute. Only what the feed saw is in a bar: a minute without a tick
for an instrument has no bar for it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.dispatch import Signal

from marketdata.quotes import Quote

#: Sent after a minute's bars are written, with ``start`` (the minute's first instant,
#: aware) and ``instrument_ids`` (those with a bar in it).
bars_closed = Signal()

MINUTE = timedelta(minutes=1)


def minute_of(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


@dataclass
class _Open:
    instrument_id: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume_before: int  # the day's volume when the minute began
    volume: int


class MinuteBars:
    """The feed's open minute and its bar per instrument."""

    def __init__(self) -> None:
        self.minute: datetime | None = None
        self.bars: dict[str, _Open] = {}
        self.day_volume: dict[str, int] = {}  # the last day volume seen, per instrument

    def add(self, quotes: dict[str, Quote], ids: dict[str, int], at: datetime) -> int:
        """Fold one tick into the open minute, closing the one before if ``at`` is past it;
        returns how many bars were closed."""
        closed = self.close_due(at)
        if self.minute is None:
            self.minute = minute_of(at)
        for key, quote in quotes.items():
            if key not in ids:
                continue
            price, volume = quote.last_price, quote.volume
            bar = self.bars.get(key)
            if bar is None:
                before = self.day_volume.get(key, volume)
                self.bars[key] = _Open(ids[key], price, price, price, price, before, volume)
            else:
                bar.high, bar.low = max(bar.high, price), min(bar.low, price)
                bar.close, bar.volume = price, volume
            self.day_volume[key] = volume
        return closed

    def close_due(self, now: datetime) -> int:
        """Close the open minute if ``now`` is past it (the feed calls this when the
        market closes too); returns how many bars were written."""
        if self.minute is None or minute_of(now) <= self.minute:
            return 0
        start, bars = self.minute, list(self.bars.values())
        self.minute, self.bars = None, {}
        if not bars:
            return 0
        from marketdata.models import Bar
        from marketdata.services import bars_upsert

        written = bars_upsert(
            Bar(
                instrument_id=b.instrument_id, interval="1m", start=start, open=b.open,
                high=b.high, low=b.low, close=b.close,
                volume=max(b.volume - b.volume_before, 0),
            )
            for b in bars
        )  # fmt: skip
        bars_closed.send(
            sender=MinuteBars, start=start, instrument_ids=sorted(b.instrument_id for b in bars)
        )
        return written
