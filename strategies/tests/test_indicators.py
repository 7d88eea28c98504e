"""The indicators against TA-Lib itself and against values worked by hand, warm-up included."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import talib

from strategies import indicators
from strategies.base import StrategyError
from strategies.tests.catalogue_bars import ist_times, random_minute_bars

BARS = random_minute_bars(days=1, seed=3)
H, L, C, V = BARS.high, BARS.low, BARS.close, BARS.volume


def leading_nans(values: np.ndarray) -> int:
    """How many values are NaN before the first number (and none after it)."""
    nan = np.isnan(values)
    first = int(np.argmin(nan)) if not nan.all() else len(values)
    assert not nan[first:].any(), "NaN after the warm-up"
    return first


@pytest.mark.parametrize(
    ("ours", "theirs", "warmup"),
    [
        (lambda: indicators.sma(C, 5), lambda: talib.SMA(C, 5), 4),
        (lambda: indicators.ema(C, 10), lambda: talib.EMA(C, 10), 9),
        (lambda: indicators.rsi(C, 14), lambda: talib.RSI(C, 14), 14),
        (lambda: indicators.atr(H, L, C, 14), lambda: talib.ATR(H, L, C, 14), 14),
        (lambda: indicators.adx(H, L, C, 14), lambda: talib.ADX(H, L, C, 14), 27),
    ],
    ids=["sma", "ema", "rsi", "atr", "adx"],
)
def test_single_outputs_are_talib_with_its_warmup(ours, theirs, warmup) -> None:
    mine = ours()
    np.testing.assert_array_equal(mine, theirs())
    assert mine.shape == C.shape
    assert mine.dtype == np.float64
    assert leading_nans(mine) == warmup


def test_macd_is_talib_and_aligned_after_slow_plus_signal_warmup() -> None:
    mine = indicators.macd(C, 12, 26, 9)
    for a, b in zip(mine, talib.MACD(C, 12, 26, 9), strict=True):
        np.testing.assert_array_equal(a, b)
        assert leading_nans(a) == 26 - 1 + 9 - 1
    line, signal, hist = mine
    np.testing.assert_allclose(hist[33:], line[33:] - signal[33:], atol=1e-12)


def hand_ema(values: np.ndarray, period: int, start: int = 0) -> np.ndarray:
    """EMA seeded with the mean of ``period`` values from ``start``, then k = 2 / (n + 1)."""
    out = np.full(len(values), np.nan)
    out[start + period - 1] = values[start : start + period].mean()
    for t in range(start + period, len(values)):
        out[t] = out[t - 1] + 2 / (period + 1) * (values[t] - out[t - 1])
    return out


def test_macd_by_hand_both_emas_seeded_on_the_slow_window() -> None:
    # TA-Lib seeds the fast EMA on closes slow - fast .. slow - 1, so that both averages
    # start at bar slow - 1: not EMA(12) - EMA(26) each seeded on its first closes
    line, signal, _ = indicators.macd(C, 12, 26, 9)
    mine = hand_ema(C, 12, start=26 - 12) - hand_ema(C, 26)
    np.testing.assert_allclose(line[33:], mine[33:], rtol=1e-10)
    expected_signal = np.full(len(C), np.nan)
    expected_signal[25:] = hand_ema(mine[25:], 9)
    np.testing.assert_allclose(signal[33:], expected_signal[33:], rtol=1e-10)
    naive = talib.EMA(C, 12) - talib.EMA(C, 26)
    assert not np.allclose(line[33:], naive[33:], rtol=1e-10)


def test_bbands_is_talib_with_population_sd() -> None:
    upper, middle, lower = indicators.bbands(C, 20, 2.0, 1.5)
    for a, b in zip(
        (upper, middle, lower), talib.BBANDS(C, 20, 2.0, 1.5, talib.MA_Type.SMA), strict=True
    ):
        np.testing.assert_array_equal(a, b)
        assert leading_nans(a) == 19
    windows = np.lib.stride_tricks.sliding_window_view(C, 20)
    np.testing.assert_allclose(middle[19:], windows.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(
        upper[19:], windows.mean(axis=1) + 2 * windows.std(axis=1, ddof=0), rtol=1e-9
    )
    np.testing.assert_allclose(
        lower[19:], windows.mean(axis=1) - 1.5 * windows.std(axis=1, ddof=0), rtol=1e-9
    )
    # the sample sd (ddof=1) would give other bands: the test tells them apart
    assert not np.allclose(
        upper[19:], windows.mean(axis=1) + 2 * windows.std(axis=1, ddof=1), rtol=1e-6
    )


def test_stoch_is_talib_and_the_textbook_formula() -> None:
    slowk, slowd = indicators.stoch(H, L, C, 5, 3, 3)
    theirs = talib.STOCH(H, L, C, 5, 3, talib.MA_Type.SMA, 3, talib.MA_Type.SMA)
    np.testing.assert_array_equal(slowk, theirs[0])
    np.testing.assert_array_equal(slowd, theirs[1])
    assert leading_nans(slowk) == leading_nans(slowd) == 4 + 2 + 2
    hh = np.lib.stride_tricks.sliding_window_view(H, 5).max(axis=1)
    ll = np.lib.stride_tricks.sliding_window_view(L, 5).min(axis=1)
    fastk = (C[4:] - ll) / (hh - ll) * 100
    k = np.convolve(fastk, np.ones(3) / 3, mode="valid")
    d = np.convolve(k, np.ones(3) / 3, mode="valid")
    np.testing.assert_allclose(slowk[8:], k[2:], rtol=1e-9)
    np.testing.assert_allclose(slowd[8:], d, rtol=1e-9)


def test_hand_computed_values() -> None:
    nan = np.nan
    np.testing.assert_allclose(indicators.sma([1, 2, 3, 4, 5], 3), [nan, nan, 2, 3, 4])
    # EMA(3): seeded with the SMA of the first three (4), then k = 2 / 4 = 0.5
    np.testing.assert_allclose(indicators.ema([2, 4, 6, 5, 7], 3), [nan, nan, 4, 4.5, 5.75])
    # RSI(2), Wilder: gains 1, 1 -> 100; a loss of 1 -> avg 0.5/0.5 -> 50; a gain of 2 ->
    # avg gain 1.25, avg loss 0.25, RS 5 -> 100 - 100 / 6
    np.testing.assert_allclose(
        indicators.rsi([1, 2, 3, 2, 4], 2), [nan, nan, 100, 50, 100 - 100 / 6]
    )
    # ATR(2): true ranges 1.5, 1.5, 1.5, 2 from bar 1; the first ATR is their mean, then Wilder
    high, low, close = [10, 11, 12, 11.5, 13], [9, 10, 10.5, 10, 11], [9.5, 10.5, 11, 11, 12.5]
    np.testing.assert_allclose(indicators.atr(high, low, close, 2), [nan, nan, 1.5, 1.5, 1.75])
    # Bollinger(5, 2) of 1..5: middle 3, population sd sqrt(2)
    upper, middle, lower = indicators.bbands([1, 2, 3, 4, 5], 5, 2, 2)
    np.testing.assert_allclose([upper[4], middle[4], lower[4]], [3 + 2 * 2**0.5, 3, 3 - 2 * 2**0.5])
    # a steady climb: +DM every bar, no -DM, so DX and ADX are 100 once warm
    x = np.arange(30.0)
    assert (indicators.adx(x + 1, x - 1, x, 5)[9:] == 100).all()
    # highest / lowest of the previous two values, the current one excluded
    np.testing.assert_allclose(indicators.highest([1, 3, 2, 5, 4], 2), [nan, nan, 3, 3, 5])
    np.testing.assert_allclose(indicators.lowest([1, 3, 2, 5, 4], 2), [nan, nan, 1, 2, 2])


def test_vwap_by_hand_across_two_sessions_from_ids_and_from_ist_times() -> None:
    high = [11, 13, 21, 24]
    low = [9, 11, 19, 18]
    close = [10, 12, 20, 21]  # typical prices 10, 12 | 20, 21
    volume = [100, 300, 50, 150]
    expected = [10, (1000 + 3600) / 400, 20, (1000 + 3150) / 200]
    by_ids = indicators.vwap(high, low, close, volume, np.array([1, 1, 2, 2]))
    np.testing.assert_allclose(by_ids, expected)
    # the same bars at 09:15 and 15:29 IST on two days: the session is the IST day
    time = np.concatenate([ist_times("2026-01-05", [0, 374]), ist_times("2026-01-06", [0, 374])])
    np.testing.assert_allclose(indicators.vwap(high, low, close, volume, time), expected)
    # population sd about the VWAP: session 1 has 10 x 100 and 12 x 300 -> var 0.75
    sd = indicators.vwap_sd(high, low, close, volume, time)
    # session 2: 20 x 50 and 21 x 150 about 20.75 -> var (0.75² x 50 + 0.25² x 150) / 200
    np.testing.assert_allclose(sd, [0, 0.75**0.5, 0, 0.1875**0.5], atol=1e-12)


def test_vwap_without_volume_is_nan_and_sessions_turn_on_ist_midnight() -> None:
    assert np.isnan(indicators.vwap([1, 2], [1, 2], [1, 2], [0, 0], np.array([5, 5]))).all()
    # 18:29 UTC is 23:59 IST on the 5th; 18:31 UTC is 00:01 IST on the 6th
    time = np.array(["2026-01-05T18:29", "2026-01-05T18:31"], dtype="datetime64[us]")
    ids = indicators.session_ids(time)
    assert ids[1] == ids[0] + 1
    np.testing.assert_array_equal(
        indicators.vwap([10, 20], [10, 20], [10, 20], [1, 1], time), [10, 20]
    )
    assert list(indicators.ist_minute(ist_times("2026-01-05", [0, 365]))) == [555, 920]


def test_vwap_matches_a_direct_loop_on_random_bars() -> None:
    bars = random_minute_bars(days=2, seed=5)
    mine = indicators.vwap(bars.high, bars.low, bars.close, bars.volume, bars.time)
    typical = (bars.high + bars.low + bars.close) / 3
    day = indicators.session_ids(bars.time)
    expected = np.empty(len(bars))
    for t in range(len(bars)):
        same = (day == day[t]) & (np.arange(len(bars)) <= t)
        expected[t] = (typical[same] * bars.volume[same]).sum() / bars.volume[same].sum()
    np.testing.assert_allclose(mine, expected, rtol=1e-10)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: indicators.sma(np.ones((3, 2)), 2), "close: must be 1-D, got 2-D"),
        (lambda: indicators.sma(["a", "b"], 2), "close: not numeric"),
        (lambda: indicators.sma([1.0, 2.0], 0), "period: 0 is below 1"),
        (lambda: indicators.sma([1.0, 2.0], 2.5), "period: 2.5 is not an int"),
        (lambda: indicators.rsi([1.0, 2.0, 3.0], 1), "period: 1 is below 2"),
        (
            lambda: indicators.atr([1, 2], [1, 2], [1, 2, 3], 1),
            "inputs differ in length: high 2, low 2, close 3",
        ),
        (lambda: indicators.macd(C, 26, 12, 9), "fast (26) must be less than slow (12)"),
        (lambda: indicators.bbands(C, 20, -1, 2), "nbdev_up: -1 must be a finite number >= 0"),
        (lambda: indicators.stoch(H, L, C, 5, 0, 3), "slowk_period: 0 is below 1"),
        (
            lambda: indicators.vwap([1], [1], [1], [1], np.array([1.5])),
            "session: must be int session ids",
        ),
        (
            lambda: indicators.vwap([1], [1], [1], [1], np.array([1, 2])),
            "session: must be 1-D with one id per bar (1)",
        ),
        (lambda: indicators.highest([1.0, 2.0], 0), "period: 0 is below 1"),
    ],
)
def test_bad_input_names_the_problem(call, message) -> None:
    with pytest.raises(StrategyError) as caught:
        call()
    assert message in str(caught.value)


def test_ints_are_coerced_to_float64() -> None:
    out = indicators.sma(np.array([1, 2, 3], dtype=np.int64), 2)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, [np.nan, 1.5, 2.5])


def test_indicators_and_catalogue_import_without_django() -> None:
    code = (
        "import sys, strategies.indicators, strategies.catalogue, strategies.sizing; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.strip() == "[]"
