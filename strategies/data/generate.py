"""Write the shipped bars: two daily series forming a cointegrated pair and a few sessions
of NSE minute bars, all seeded, on the 0.05 tick grid, as ``date,open,high,low,close,volume``.

    python -m strategies.data.generate [DIR]   # DIR defaults to this package's folder

Run once to make the files; the test ``test_shipped_backtests`` regenerates them into a
temporary folder and requires the same bytes, so the data can only change with this code.
"""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np

SEED = 20260104
TICK = 0.05
DAILY_BARS = 500
DAILY_START = date(2023, 1, 2)  # a Monday
MINUTE_DAYS = ("2025-03-03", "2025-03-04", "2025-03-05", "2025-03-06")  # Mon-Thu
SESSION_BARS = 375  # 09:15 to 15:29 IST, one bar a minute
FILES = ("daily_a.csv", "daily_b.csv", "minute.csv")
HERE = Path(__file__).resolve().parent


def _ticks(values: np.ndarray) -> np.ndarray:
    """Rounded to the tick grid, as integers of ticks (exact)."""
    return np.round(values / TICK).astype(np.int64)


def _ohlc(close_ticks: np.ndarray, rng: np.random.Generator, spread: int) -> np.ndarray:
    """(open, high, low, close) in ticks: each open a few ticks from the close before,
    highs and lows up to ``spread`` ticks beyond both."""
    n = len(close_ticks)
    opens = np.r_[close_ticks[0], close_ticks[:-1]] + rng.integers(-spread, spread + 1, n)
    high = np.maximum(opens, close_ticks) + rng.integers(0, spread + 1, n)
    low = np.minimum(opens, close_ticks) - rng.integers(0, spread + 1, n)
    if (low <= 0).any():
        raise ValueError("generated a price at or below 0")
    return np.column_stack((opens, high, low, close_ticks))


def _rows(labels: list[str], ohlc: np.ndarray, volume: np.ndarray) -> str:
    lines = ["date,open,high,low,close,volume"]
    for label, prices, vol in zip(labels, ohlc.tolist(), volume.tolist(), strict=True):
        text = ",".join(f"{p * TICK:.2f}" for p in prices)
        lines.append(f"{label},{text},{vol}")
    return "\n".join(lines) + "\n"


def business_days(start: date, n: int) -> list[str]:
    """``n`` weekdays from ``start`` as YYYY-MM-DD (holidays are not modelled)."""
    days, day = [], start
    while len(days) < n:
        if day.weekday() < 5:
            days.append(day.isoformat())
        day += timedelta(days=1)
    return days


def daily_pair(rng: np.random.Generator) -> tuple[str, str]:
    """B: a random walk of log prices (1.5% a day); A = 0.3 + 0.9·log B plus a spread
    that reverts to 0 (AR(1), phi 0.9, 1.2% shocks): cointegrated with beta 0.9."""
    log_b = np.log(800.0) + np.cumsum(rng.normal(0.0003, 0.015, DAILY_BARS))
    spread = np.zeros(DAILY_BARS)
    shocks = rng.normal(0.0, 0.012, DAILY_BARS)
    for t in range(1, DAILY_BARS):
        spread[t] = 0.9 * spread[t - 1] + shocks[t]
    log_a = 0.3 + 0.9 * log_b + spread
    labels = business_days(DAILY_START, DAILY_BARS)
    out = []
    for log_close in (log_a, log_b):
        close = _ticks(np.exp(log_close))
        spread_ticks = max(1, int(close.mean() * 0.004))  # in ticks: ~0.4% of the price
        out.append(
            _rows(
                labels, _ohlc(close, rng, spread_ticks), rng.integers(50_000, 500_000, DAILY_BARS)
            )
        )
    return out[0], out[1]


def minute_sessions(rng: np.random.Generator) -> str:
    """Sessions of one-minute bars, 09:15-15:29 IST, labels with +05:30: a random walk
    with a slow pull back to the session's open (so VWAP stretches revert) and a drift
    that changes by day (so opening ranges break both ways); U-shaped volume."""
    labels, closes = [], []
    level = 2500.0
    minutes = np.arange(SESSION_BARS)
    for k, day in enumerate(MINUTE_DAYS):
        drift = (-0.04, 0.05, 0.01, -0.02)[k % 4]
        price = np.empty(SESSION_BARS)
        anchor, p = level, level
        for i in range(SESSION_BARS):
            p = p + drift + 0.02 * (anchor - p) * 0.1 + rng.normal(0.0, 0.9)
            price[i] = p
        level = price[-1] + rng.normal(0.0, 5.0)  # the overnight gap
        closes.append(price)
        for m in minutes:
            hour, minute = divmod(9 * 60 + 15 + int(m), 60)
            labels.append(f"{day}T{hour:02d}:{minute:02d}:00+05:30")
    close = _ticks(np.concatenate(closes))
    shape = 1.0 + 2.0 * ((minutes - SESSION_BARS / 2) / (SESSION_BARS / 2)) ** 2
    volume = (np.tile(shape, len(MINUTE_DAYS)) * rng.integers(500, 3_000, len(close))).astype(
        np.int64
    )
    return _rows(labels, _ohlc(close, rng, 4), volume)


def generate(folder: Path = HERE) -> list[Path]:
    """Write the shipped CSV files into ``folder``; the same bytes on every run."""
    rng = np.random.default_rng(SEED)
    a, b = daily_pair(rng)
    texts = dict(zip(FILES, (a, b, minute_sessions(rng)), strict=True))
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in texts.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in generate(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(f"wrote {written}")
