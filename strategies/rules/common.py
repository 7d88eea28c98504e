"""Small pieces the rules share: crosses as events, a long/flat latch, the intraday clock."""

from __future__ import annotations

import numpy as np

from strategies import indicators
from strategies.base import Bars, StrategyError

OPEN_MINUTE = 9 * 60 + 15  # NSE cash session opens 09:15 IST
SQUAREOFF_MINUTE = 15 * 60 + 20  # MIS positions are squared off near 15:20 IST


def single(bars: Bars | tuple[Bars, ...], name: str) -> Bars:
    """The one instrument's bars of a one-leg strategy."""
    if isinstance(bars, tuple):
        if len(bars) != 1:
            raise StrategyError(f"{name} trades one instrument, got {len(bars)}")
        bars = bars[0]
    if not isinstance(bars, Bars):
        raise StrategyError(f"{name}: bars must be Bars, got {type(bars).__name__}")
    return bars


def crossed_above(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True where ``a`` is strictly above ``b`` now and was at or below it on the previous
    bar: an event. NaN on either bar is no cross."""
    out = np.zeros(len(a), dtype=bool)
    out[1:] = (a[1:] > b[1:]) & (a[:-1] <= b[:-1])
    return out


def crossed_below(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True where ``a`` is strictly below ``b`` now and was at or above it on the previous bar."""
    out = np.zeros(len(a), dtype=bool)
    out[1:] = (a[1:] < b[1:]) & (a[:-1] >= b[:-1])
    return out


def latch(enter: np.ndarray, leave: np.ndarray) -> np.ndarray:
    """Long/flat targets: 1 from a bar where ``enter`` holds, 0 from one where ``leave``
    holds, the previous target otherwise (0 before any event). ``leave`` wins a bar where
    both hold. Each target depends only on that bar and the ones before it."""
    out = np.zeros(len(enter))
    events = np.flatnonzero(enter | leave)  # few: spread each over the bars to the next
    if len(events):
        values = np.where(leave[events], 0.0, 1.0)
        out[events[0] :] = np.repeat(values, np.diff(events, append=len(out)))
    return out


def clock(bars: Bars) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(session id, IST minute of each bar's start, bar length in minutes) of intraday bars.

    The bar length is the smallest positive step between bar starts seen so far (bars at
    or before each one; infinite on the first bar), so it never looks ahead."""
    session = indicators.session_ids(bars.time)
    minute = indicators.ist_minute(bars.time)
    stamps = bars.time.astype("datetime64[s]").astype(np.int64).astype(np.float64) / 60.0
    step = np.full(len(stamps), np.inf)
    if len(stamps) > 1:
        gaps = np.diff(stamps)
        step[1:] = np.minimum.accumulate(np.where(gaps > 0, gaps, np.inf))
    return session, minute, step


def square_off(minute: np.ndarray, step: np.ndarray) -> np.ndarray:
    """True on bars whose target must be flat so that the exit fills before 15:20 IST.

    The target decided at bar t's close fills at bar t + 1's open, which starts one bar
    length later; the last open before 15:20 is therefore bar t + 1's when bar t + 2 would
    start at or after 15:20. So a bar starting at or after 15:20 - 2 bar lengths (15:18 on
    minute bars, 15:10 on five-minute bars) is flat, and so is any bar outside
    09:15-15:20."""
    with np.errstate(invalid="ignore"):
        late = minute + 2 * step >= SQUAREOFF_MINUTE
    return late | (minute < OPEN_MINUTE)
