"""``donchian_breakout``: the turtle's channel breakout, long only."""

from __future__ import annotations

import numpy as np

from strategies import indicators
from strategies.base import Bars, Param, Strategy, register
from strategies.rules.common import latch, single


@register
class DonchianBreakout(Strategy):
    """Buy at a close > the highest high of the previous ``entry`` bars; exit at a close <
    the lowest low of the previous ``exit`` bars.

    "Previous" excludes the deciding bar itself (bars t-entry..t-1), else a close could
    never exceed a high that includes its own bar. Entering needs ``entry`` earlier bars
    and exiting ``exit`` of them; before that the rule is silent (flat at the start).
    Defaults 20/10 are the Turtles' System 1: a four-week breakout, a two-week exit."""

    name = "donchian_breakout"
    title = "Donchian channel breakout"
    params = (
        Param("entry", int, 20, low=1, high=1000, help="previous bars whose highest high to break"),
        Param("exit", int, 10, low=1, high=1000, help="previous bars whose lowest low exits"),
    )

    def targets(self, bars: Bars | tuple[Bars, ...]) -> np.ndarray:
        one = single(bars, self.name)
        top = indicators.highest(one.high, self.entry)
        bottom = indicators.lowest(one.low, self.exit)
        return latch(one.close > top, one.close < bottom)
