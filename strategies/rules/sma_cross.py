"""``sma_cross``: long from SMA(fast) crossing above SMA(slow) until it crosses below."""

from __future__ import annotations

import numpy as np

from strategies import indicators
from strategies.base import Bars, Param, Strategy, StrategyError, register
from strategies.rules.common import crossed_above, crossed_below, latch, single


@register
class SmaCross(Strategy):
    """Buy when SMA(fast) crosses above SMA(slow); exit when it crosses below.

    A cross is an event: fast strictly above slow at this close and at or below it at the
    previous one (or the reverse). Being above without having crossed does not enter, so
    the first target can be 1 only from bar ``slow`` on (the previous bar must have both
    averages). Defaults 10/30: the classic short/medium pair, two and six trading weeks of
    daily bars."""

    name = "sma_cross"
    title = "SMA crossover"
    params = (
        Param("fast", int, 10, low=1, high=1000, help="bars in the fast average"),
        Param("slow", int, 30, low=2, high=5000, help="bars in the slow average"),
    )

    def check(self) -> None:
        if self.fast >= self.slow:
            raise StrategyError(
                f"{self.name}: fast ({self.fast}) must be less than slow ({self.slow})"
            )

    def targets(self, bars: Bars | tuple[Bars, ...]) -> np.ndarray:
        close = single(bars, self.name).close
        fast = indicators.sma(close, self.fast)
        slow = indicators.sma(close, self.slow)
        return latch(crossed_above(fast, slow), crossed_below(fast, slow))
