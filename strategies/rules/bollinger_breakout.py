"""``bollinger_breakout``: long on a close above the upper Bollinger band, out below the middle."""

from __future__ import annotations

import numpy as np

from strategies import indicators
from strategies.base import Bars, Param, Strategy, register
from strategies.rules.common import latch, single


@register
class BollingerBreakout(Strategy):
    """Buy at a close > middle + k·sd; exit at a close < middle.

    middle is SMA(period) of the close and sd the *population* standard deviation of the
    same ``period`` closes (TA-Lib BBANDS). The first ``period - 1`` bars are flat.
    Defaults 20/2 are Bollinger's own: a month of daily bars, two deviations."""

    name = "bollinger_breakout"
    title = "Bollinger band breakout"
    params = (
        Param("period", int, 20, low=2, high=1000, help="bars in the band's window"),
        Param("k", float, 2.0, low=0, high=10, help="deviations above the middle to enter"),
    )

    def targets(self, bars: Bars | tuple[Bars, ...]) -> np.ndarray:
        close = single(bars, self.name).close
        upper, middle, _ = indicators.bbands(close, self.period, self.k, self.k)
        return latch(close > upper, close < middle)
