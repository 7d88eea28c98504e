"""``vwap_reversion``: long when the close is stretched below the session VWAP, intraday."""

from __future__ import annotations

import numpy as np

from strategies import indicators
from strategies.base import Bars, Param, Strategy, register
from strategies.rules.common import OPEN_MINUTE, clock, latch, single, square_off
from strategies.rules.opening_range_breakout import session_starts


@register
class VwapReversion(Strategy):
    """Buy at a close < VWAP - k·sd; exit at a close >= VWAP, or flat before 15:20 IST.

    VWAP is the session's (IST day's) volume-weighted typical price from its first bar
    (``indicators.vwap``) and sd the volume-weighted population standard deviation of the
    typical price about it (``indicators.vwap_sd``), both including the deciding bar. The
    first ``min_bars`` bars of each session only build them (flat: a VWAP of three bars
    says little), as does a bar with sd = 0. Flat outside 09:15-15:20 IST and from the
    square-off bar as in ``opening_range_breakout``; every session starts flat.

    Defaults: k = 2 (a two-sd stretch, rare enough to mean something on minute bars),
    min_bars = 15 (the first quarter-hour of minute bars, past the opening swings)."""

    name = "vwap_reversion"
    title = "VWAP reversion (intraday)"
    intraday = True
    params = (
        Param("k", float, 2.0, low=0, high=10, help="sd below VWAP to enter"),
        Param("min_bars", int, 15, low=1, high=375, help="bars of a session before trading"),
    )

    def targets(self, bars: Bars | tuple[Bars, ...]) -> np.ndarray:
        one = single(bars, self.name)
        session, minute, step = clock(one)
        center = indicators.vwap(one.high, one.low, one.close, one.volume, session)
        sd = indicators.vwap_sd(one.high, one.low, one.close, one.volume, session)
        bounds = session_starts(session)
        count = np.arange(len(one)) - np.repeat(bounds[:-1], np.diff(bounds))
        window = (count >= self.min_bars) & ~square_off(minute, step) & (minute >= OPEN_MINUTE)
        window &= sd > 0
        enter = window & (one.close < center - self.k * sd)
        return latch(enter, ~window | (one.close >= center))
