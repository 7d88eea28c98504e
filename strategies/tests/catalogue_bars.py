"""Bars for the catalogue's tests: hand-made series and seeded random minute bars (no DB)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from strategies.base import Bars

IST_0915 = np.timedelta64(3 * 60 + 45, "m")  # 09:15 IST is 03:45 UTC


def ist_times(day: str, minutes: Iterable[int] | np.ndarray, step: int = 1) -> np.ndarray:
    """UTC bar starts on IST ``day`` at ``minutes`` bars of ``step`` minutes after 09:15 IST."""
    start = np.datetime64(day, "m") + IST_0915
    return (start + np.asarray(list(minutes)) * np.timedelta64(step, "m")).astype("datetime64[us]")


def bars_of(
    close: list[float] | np.ndarray,
    high: list[float] | np.ndarray | None = None,
    low: list[float] | np.ndarray | None = None,
    volume: list[float] | np.ndarray | None = None,
    time: np.ndarray | None = None,
) -> Bars:
    """Bars from closes (high and low default to the close, volume to 100, days from
    2026-01-05)."""
    close = np.asarray(close, dtype=np.float64)
    n = len(close)
    if time is None:
        time = (np.datetime64("2026-01-05", "D") + np.arange(n)).astype("datetime64[us]")
    return Bars(
        time=time,
        open=close.copy(),
        high=close.copy() if high is None else np.asarray(high, dtype=np.float64),
        low=close.copy() if low is None else np.asarray(low, dtype=np.float64),
        close=close,
        volume=np.full(n, 100.0) if volume is None else np.asarray(volume, dtype=np.float64),
    )


def random_minute_bars(days: int = 3, seed: int = 7, drift: float = 0.0) -> Bars:
    """``days`` sessions of 375 one-minute bars (09:15-15:29 IST) of a random walk."""
    rng = np.random.default_rng(seed)
    day0 = np.datetime64("2026-01-05", "D")
    time = np.concatenate(
        [ist_times(str(day0 + d), np.arange(375)) for d in range(days)]
    )  # fmt: skip
    n = len(time)
    close = 100 * np.exp(np.cumsum(rng.normal(drift, 0.002, n)))
    open_ = np.concatenate(([100.0], close[:-1])) * np.exp(rng.normal(0, 0.0005, n))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.001, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.001, n)))
    volume = rng.integers(100, 5000, n).astype(np.float64)
    return Bars(time=time, open=open_, high=high, low=low, close=close, volume=volume)


def partner_of(bars: Bars, seed: int = 11, noise: float = 0.004) -> Bars:
    """A second instrument cointegrated with ``bars``: its log close is 0.8 x the first's
    plus stationary (AR(1)) noise, on the same time grid."""
    rng = np.random.default_rng(seed)
    n = len(bars)
    ar = np.zeros(n)
    shocks = rng.normal(0, noise, n)
    for t in range(1, n):
        ar[t] = 0.7 * ar[t - 1] + shocks[t]
    close = np.exp(1.0 + 0.8 * np.log(bars.close) + ar)
    return Bars(
        time=bars.time, open=close, high=close * 1.001, low=close * 0.999, close=close,
        volume=bars.volume, symbol="B",
    )  # fmt: skip
