"""The live feed: advance the provider once a second during the session and publish quotes.

Each tick asks the provider for every active instrument in one call, publishes the
quotes to the price cache and sends ``quotes_published``, the hook through which the
paper exchange re-checks resting orders on every quote update. ``feed_run`` also builds
one-minute bars from the ticks and closes them as each minute ends
(``marketdata.bar_builder``): strategy deployments step on them.
"""

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.dispatch import Signal
from django.utils import timezone
from prometheus_client import Counter

from marketdata import calendar
from marketdata.bar_builder import MinuteBars
from marketdata.pricecache import upstream_quotes
from marketdata.selectors import instrument_specs

logger = logging.getLogger(__name__)

#: Sent after every tick with ``quotes``: dict[str, Quote].
quotes_published = Signal()

FEED_TICKS = Counter("marketdata_feed_ticks_total", "Quote updates published by the feed")
IDLE_CHECK_SECONDS = 30.0


def feed_tick(*, at: datetime | None = None, bars: MinuteBars | None = None) -> int:
    """Publish one round of quotes for every active instrument; returns how many. With
    ``bars``, the quotes also go into the open minute's bars."""
    specs = instrument_specs()
    if not specs:
        return 0
    quotes = upstream_quotes(list(specs), reason="feed", at=at)
    FEED_TICKS.inc()
    quotes_published.send(sender=feed_tick, quotes=quotes)
    if bars is not None:
        bars.add(quotes, {key: spec.id for key, spec in specs.items()}, at or timezone.now())
    return len(quotes)


def feed_run(
    *, interval: float = 1.0, ticks: int | None = None, report: Callable[[str], None] | None = None
) -> int:
    """Tick every ``interval`` seconds while the market is open; idle until it opens.

    Stops after ``ticks`` ticks when given (for tests and one-off runs).
    """
    done, bars = 0, MinuteBars()
    while ticks is None or done < ticks:
        now = timezone.now()
        if not calendar.is_open(now):
            bars.close_due(now)  # the session's last minute
            wait = min(IDLE_CHECK_SECONDS, (calendar.next_open(now) - now).total_seconds())
            if report:
                report(
                    f"market closed; next open {timezone.localtime(now + timedelta(seconds=wait))}"
                )
            time.sleep(max(wait, 0.5))
            continue
        published = feed_tick(at=now, bars=bars)
        done += 1
        if report and done % 60 == 1:
            clock = timezone.localtime(now, calendar.IST)
            report(f"tick {done}: {published} quotes at {clock:%H:%M:%S}")
        time.sleep(interval - (time.time() % interval))  # stay on the wall-clock second
    return done
