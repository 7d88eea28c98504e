"""``rsi_reversion``: long while oversold until overbought, on Wilder's RSI."""

from __future__ import annotations

import numpy as np

from strategies import indicators
from strategies.base import Bars, Param, Strategy, StrategyError, register
from strategies.rules.common import latch, single


@register
class RsiReversion(Strategy):
    """Buy at a close where RSI(period) < low; exit at a close where RSI(period) > high.

    Both are levels, not crosses: a target of 1 is set at any close below ``low`` and
    kept until a close above ``high``. RSI is TA-Lib's (Wilder smoothing), NaN for the
    first ``period`` bars, which are flat. Defaults 14/30/70 are Wilder's own."""

    name = "rsi_reversion"
    title = "RSI mean reversion"
    params = (
        Param("period", int, 14, low=2, high=1000, help="RSI bars (Wilder)"),
        Param("low", float, 30.0, low=0, high=100, help="enter below this RSI"),
        Param("high", float, 70.0, low=0, high=100, help="exit above this RSI"),
    )

    def check(self) -> None:
        if self.low >= self.high:
            raise StrategyError(
                f"{self.name}: low ({self.low}) must be less than high ({self.high})"
            )

    def targets(self, bars: Bars | tuple[Bars, ...]) -> np.ndarray:
        value = indicators.rsi(single(bars, self.name).close, self.period)
        return latch(value < self.low, value > self.high)
