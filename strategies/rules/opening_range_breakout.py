"""``opening_range_breakout``: long above the NSE opening range, intraday, squared off by 15:20."""

from __future__ import annotations

import itertools

import numpy as np

from strategies.base import Bars, Param, Strategy, register
from strategies.rules.common import OPEN_MINUTE, clock, latch, single, square_off


def session_starts(session: np.ndarray) -> np.ndarray:
    """Indices where a new session (IST day) begins, and the length as the last bound."""
    if len(session) == 0:
        return np.array([0], dtype=np.int64)
    change = np.flatnonzero(session[1:] != session[:-1]) + 1
    return np.concatenate(([0], change, [len(session)]))


@register
class OpeningRangeBreakout(Strategy):
    """Long above the day's opening range; flat at its low and before 15:20 IST.

    The opening range of a session (IST day) is the highest high and lowest low of the
    bars *starting* in [09:15, 09:15 + ``minutes``) IST. On each later bar of that session
    the target is 1 from a close > the range high and 0 from a close < the range low. The
    target is 0 on the range bars, on any bar outside 09:15-15:20 IST, and from the bar
    after which only one bar opens before 15:20 (``common.square_off``: 15:18 on minute
    bars) so the exit fills before the 15:20 MIS square-off; every session starts flat.
    No range bar in a session: no trade that day.

    Default 15 minutes: the first quarter-hour holds the opening auction's aftermath and
    most of the morning's range; shorter ranges are noise on NSE minute bars."""

    name = "opening_range_breakout"
    title = "Opening range breakout (intraday)"
    intraday = True
    params = (
        Param("minutes", int, 15, low=1, high=360, help="length of the range from 09:15 IST"),
    )

    def targets(self, bars: Bars | tuple[Bars, ...]) -> np.ndarray:
        one = single(bars, self.name)
        session, minute, step = clock(one)
        n = len(one)
        in_range = (minute >= OPEN_MINUTE) & (minute < OPEN_MINUTE + self.minutes)
        top = np.full(n, np.nan)
        bottom = np.full(n, np.nan)
        bounds = session_starts(session)
        for start, stop in itertools.pairwise(bounds):
            mask = in_range[start:stop]
            # running over the range bars seen so far: the full range once it has ended
            highs = np.where(mask, one.high[start:stop], -np.inf)
            lows = np.where(mask, one.low[start:stop], np.inf)
            top[start:stop] = np.maximum.accumulate(highs)
            bottom[start:stop] = np.minimum.accumulate(lows)
        window = (minute >= OPEN_MINUTE + self.minutes) & ~square_off(minute, step)
        window &= np.isfinite(top)
        return latch(window & (one.close > top), ~window | (one.close < bottom))
