"""Hand-made bars and a reference SMA cross for the engine's tests.

``SmaCrossReference`` is the test's own rule, computed from TA-Lib's SMA: long from the
bar where SMA(fast) closes strictly above SMA(slow) having been at or below it on the bar
before, flat from the reverse cross. It is not the catalogue's strategy (another module
owns that); the tests use it to drive the engine, the command and backtrader alike.
"""

from __future__ import annotations

import numpy as np
import talib

from strategies.base import Bars, Param, Strategy


def bars_make(
    opens, closes=None, *, start="2024-01-01", step="D", labels=None, symbol="TEST"
) -> Bars:
    """Bars with the given opens and closes (closes default to the opens); high and low
    bracket both by 1. Times are consecutive days (or minutes, ``step="m"``)."""
    o = np.asarray(opens, dtype=np.float64)
    c = o.copy() if closes is None else np.asarray(closes, dtype=np.float64)
    time = (np.datetime64(start, "us") + np.arange(len(o)) * np.timedelta64(1, step)).astype(
        "datetime64[us]"
    )
    if labels is None:
        labels = tuple(str(t)[: 10 if step == "D" else 16] for t in time)
    return Bars(
        time=time, open=o, high=np.maximum(o, c) + 1, low=np.minimum(o, c) - 1, close=c,
        volume=np.full(len(o), 100.0), labels=tuple(labels), symbol=symbol,
    )  # fmt: skip


def cross_targets(fast_line: np.ndarray, slow_line: np.ndarray) -> np.ndarray:
    """1 from a cross above until a cross below, else 0; NaN (warm-up) is never a cross."""
    up = np.zeros(len(fast_line), dtype=bool)
    down = np.zeros(len(fast_line), dtype=bool)
    with np.errstate(invalid="ignore"):
        up[1:] = (fast_line[1:] > slow_line[1:]) & (fast_line[:-1] <= slow_line[:-1])
        down[1:] = (fast_line[1:] < slow_line[1:]) & (fast_line[:-1] >= slow_line[:-1])
    events = np.flatnonzero(up | down)
    targets = np.zeros(len(fast_line))
    if len(events):
        state = np.zeros(len(fast_line))
        state[events] = up[events]
        # Hold the state of the last event at or before each bar.
        last = np.maximum.accumulate(np.where(up | down, np.arange(len(fast_line)), -1))
        targets = np.where(last >= 0, state[np.maximum(last, 0)], 0.0)
    return targets


class SmaCrossReference(Strategy):
    name = "test_sma_cross_reference"
    title = "SMA cross (the tests' reference, TA-Lib SMA)"
    params = (
        Param("fast", int, 10, low=1),
        Param("slow", int, 30, low=2),
    )

    def targets(self, bars: Bars) -> np.ndarray:
        return cross_targets(
            talib.SMA(bars.close, timeperiod=self.fast), talib.SMA(bars.close, timeperiod=self.slow)
        )


def random_walk_bars(n: int, *, seed: int, start="2010-01-01", step="D", tick=0.05) -> Bars:
    """Prices on a tick grid: a random walk of closes, each open a few ticks from the close
    before it, highs and lows around both."""
    rng = np.random.default_rng(seed)
    close = 500 + np.cumsum(rng.integers(-40, 41, n)) * tick
    close = np.round(np.maximum(close, 50), 2)
    gap = rng.integers(-8, 9, n) * tick
    opens = np.round(np.r_[close[0], close[:-1]] + gap, 2)
    opens = np.maximum(opens, 1.0)
    high = np.round(np.maximum(opens, close) + rng.integers(0, 10, n) * tick, 2)
    low = np.round(np.minimum(opens, close) - rng.integers(0, 10, n) * tick, 2)
    time = (np.datetime64(start, "us") + np.arange(n) * np.timedelta64(1, step)).astype(
        "datetime64[us]"
    )
    labels = tuple(str(t)[: 10 if step == "D" else 19] for t in time)
    return Bars(
        time=time, open=opens, high=high, low=low, close=close,
        volume=rng.integers(100, 10_000, n).astype(np.float64), labels=labels, symbol="RW",
    )  # fmt: skip
