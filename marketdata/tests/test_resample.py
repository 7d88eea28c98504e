"""Resampling 1-minute bars: exact, bins counted from 09:15, missing minutes allowed."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketdata.resample import SessionBars, resample


def minute_bars(draw_offsets, prices, volumes) -> SessionBars:
    offsets = np.array(sorted(set(draw_offsets)), dtype=np.int64)
    n = len(offsets)
    lows = np.array(prices[:n], dtype=np.int64)
    highs = lows + np.array(prices[n : 2 * n], dtype=np.int64) % 500
    opens = lows + (highs - lows) // 3
    closes = highs - (highs - lows) // 4
    return SessionBars(offsets, opens, highs, lows, closes, np.array(volumes[:n], dtype=np.int64))


bars_strategy = st.integers(min_value=1, max_value=375).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 374), min_size=n, max_size=n, unique=True),
        st.lists(st.integers(1, 10_000_000), min_size=2 * n, max_size=2 * n),
        st.lists(st.integers(0, 10**9), min_size=n, max_size=n),
    )
)


@settings(max_examples=150, deadline=None)
@given(bars_strategy, st.sampled_from(["5m", "15m", "1h", "1d"]))
def test_resampled_bars_agree_with_their_minutes(drawn, interval):
    minutes = minute_bars(*drawn)
    out = resample(minutes, interval)
    width = {"5m": 5, "15m": 15, "1h": 60, "1d": 375}[interval]
    assert out.volume.sum() == minutes.volume.sum()
    assert list(out.offset) == sorted(set(out.offset))
    for i, start in enumerate(out.offset):
        inside = (minutes.offset >= start) & (minutes.offset < start + width)
        assert start % width == 0
        assert out.high[i] == minutes.high[inside].max()
        assert out.low[i] == minutes.low[inside].min()
        assert out.open[i] == minutes.open[inside][0]
        assert out.close[i] == minutes.close[inside][-1]
        assert out.low[i] <= out.open[i] <= out.high[i]
        assert out.low[i] <= out.close[i] <= out.high[i]


def test_hour_bins_start_at_quarter_past():
    full_day = SessionBars(*(np.arange(375, dtype=np.int64) for _ in range(6)))
    hours = resample(full_day, "1h")
    assert list(hours.offset) == [0, 60, 120, 180, 240, 300, 360]  # 09:15, 10:15 ... 15:15
    assert hours.volume[-1] == sum(range(360, 375))  # the last hour bar covers 15:15-15:30


def test_unknown_interval_is_refused():
    with pytest.raises(ValueError, match="cannot resample to '3m'"):
        resample(SessionBars(*(np.zeros(1, dtype=np.int64) for _ in range(6))), "3m")
