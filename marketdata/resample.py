"""Resample one session's 1-minute bars into 5m, 15m, 1h and 1d bars.

Prices are integer paise, so aggregation is exact. Bins are counted from the session
open (09:15 IST): 5m bars start at 09:15, 09:20, ...; 1h bars at 09:15, 10:15, ...,
15:15 (that last one covers 15 minutes); the 1d bar covers the whole session.
Missing minutes are allowed: a bin holds whichever minutes exist.
"""

from dataclasses import dataclass

import numpy as np

BIN_MINUTES = {"1m": 1, "5m": 5, "15m": 15, "1h": 60}


@dataclass(frozen=True)
class SessionBars:
    """Bars of one instrument in one session; ``offset`` is minutes after the session open."""

    offset: np.ndarray  # int64, strictly increasing
    open: np.ndarray  # int64 paise
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray  # int64

    def __len__(self) -> int:
        return len(self.offset)


def resample(minutes: SessionBars, interval: str) -> SessionBars:
    """Aggregate 1-minute bars into ``interval`` bars of the same session."""
    if len(minutes) == 0:
        return minutes
    if interval == "1d":
        bins = np.zeros(len(minutes), dtype=np.int64)
    elif interval in BIN_MINUTES:
        bins = minutes.offset // BIN_MINUTES[interval] * BIN_MINUTES[interval]
    else:
        raise ValueError(f"cannot resample to {interval!r}; use one of 5m, 15m, 1h, 1d")
    first = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])
    last = np.r_[first[1:] - 1, len(bins) - 1]
    return SessionBars(
        offset=bins[first],
        open=minutes.open[first],
        high=np.maximum.reduceat(minutes.high, first),
        low=np.minimum.reduceat(minutes.low, first),
        close=minutes.close[last],
        volume=np.add.reduceat(minutes.volume, first),
    )
