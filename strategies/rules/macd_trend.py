"""``macd_trend``: long from MACD crossing above its signal line until it crosses below."""

from __future__ import annotations

import numpy as np

from strategies import indicators
from strategies.base import Bars, Param, Strategy, StrategyError, register
from strategies.rules.common import crossed_above, crossed_below, latch, single


@register
class MacdTrend(Strategy):
    """Buy when the MACD line (EMA(fast) - EMA(slow)) crosses above its signal line
    (EMA(signal) of the MACD); exit when it crosses below. Crosses are events as in
    ``sma_cross``. With ``above_zero`` the entry also needs the MACD line > 0 (trade only
    with the longer trend); the exit does not.

    TA-Lib's MACD is NaN for the first ``slow + signal - 2`` bars, so the first possible
    entry is bar ``slow + signal - 1``. Defaults 12/26/9 are Appel's, the ones every
    charting package shows; ``above_zero`` is off so that the rule is the textbook one."""

    name = "macd_trend"
    title = "MACD trend"
    params = (
        Param("fast", int, 12, low=2, high=1000, help="bars of the fast EMA"),
        Param("slow", int, 26, low=3, high=2000, help="bars of the slow EMA"),
        Param("signal", int, 9, low=1, high=1000, help="bars of the signal line's EMA"),
        Param("above_zero", bool, False, help="enter only while the MACD line is above 0"),
    )

    def check(self) -> None:
        if self.fast >= self.slow:
            raise StrategyError(
                f"{self.name}: fast ({self.fast}) must be less than slow ({self.slow})"
            )

    def targets(self, bars: Bars | tuple[Bars, ...]) -> np.ndarray:
        close = single(bars, self.name).close
        line, signal, _ = indicators.macd(close, self.fast, self.slow, self.signal)
        enter = crossed_above(line, signal)
        if self.above_zero:
            enter &= line > 0
        return latch(enter, crossed_below(line, signal))
