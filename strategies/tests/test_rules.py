"""Each strategy's rule on hand-made bars: crosses as events, strict thresholds, population
sd, previous-bar channels, the intraday clock in IST, the pair's signs, the model's data."""

from __future__ import annotations

import numpy as np
import pytest
import talib

from strategies import indicators
from strategies.base import STRATEGIES, Bars, StrategyError, strategy_make
from strategies.rules.common import crossed_above, crossed_below, latch
from strategies.rules.ml_beta import features, labels
from strategies.rules.pairs import rolling_spread
from strategies.tests.catalogue_bars import (
    bars_of,
    ist_times,
    partner_of,
    random_minute_bars,
)


def make(name: str, **params: object):
    return strategy_make(name, params)


def test_crosses_are_events_and_nan_is_no_cross() -> None:
    a = np.array([np.nan, 1, 2, 2, 3, 1, 2])
    b = np.array([1.0, 2, 2, 2, 2, 2, np.nan])
    assert list(crossed_above(a, b)) == [0, 0, 0, 0, 1, 0, 0]  # tie on bars 2-3, then above
    assert list(crossed_below(a, b)) == [0, 0, 0, 0, 0, 1, 0]
    assert not crossed_above(a[:1], b[:1]).any()


def test_latch_holds_between_events_and_the_exit_wins_a_tie() -> None:
    enter = np.array([0, 1, 0, 0, 1, 1, 0, 1], dtype=bool)
    leave = np.array([1, 0, 0, 1, 0, 1, 0, 0], dtype=bool)
    assert list(latch(enter, leave)) == [0, 1, 1, 0, 1, 0, 0, 1]
    assert list(latch(np.zeros(3, bool), np.zeros(3, bool))) == [0, 0, 0]
    assert len(latch(np.zeros(0, bool), np.zeros(0, bool))) == 0


def test_sma_cross_enters_and_exits_on_crosses_with_ties_counting_as_at_or_below() -> None:
    close = [5, 5, 5, 5, 6, 7, 6, 4, 3, 3, 4, 6]
    # SMA2: -, 5, 5, 5, 5.5, 6.5, 6.5, 5, 3.5, 3, 3.5, 5
    # SMA3: -, -, 5, 5, 5.33, 6, 6.33, 5.67, 4.33, 3.33, 3.33, 4.33
    # bar 4: 5.5 > 5.33 after 5 <= 5 (a tie): up; bar 7: 5 < 5.67 after 6.5 >= 6.33: down;
    # bar 10: 3.5 > 3.33 after 3 <= 3.33: up
    targets = make("sma_cross", fast=2, slow=3).targets(bars_of(close))
    assert list(targets) == [0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1]


def test_sma_cross_is_an_event_being_above_without_crossing_does_not_enter() -> None:
    rising = np.arange(1.0, 41.0)  # fast is above slow from the first bar both exist
    fast, slow = indicators.sma(rising, 2), indicators.sma(rising, 3)
    assert (fast[2:] > slow[2:]).all()
    assert not make("sma_cross", fast=2, slow=3).targets(bars_of(rising)).any()
    # the same climb after a dip that crosses: now it enters, at the cross
    dipped = np.concatenate(([50.0, 40.0, 30.0], rising + 30))
    targets = make("sma_cross", fast=2, slow=3).targets(bars_of(dipped))
    f, s = indicators.sma(dipped, 2), indicators.sma(dipped, 3)
    first = int(np.argmax(targets))
    assert f[first] > s[first]
    assert f[first - 1] <= s[first - 1]
    assert (targets[first:] == 1).all()
    assert not targets[:first].any()


def test_rsi_reversion_thresholds_are_strict() -> None:
    bars = random_minute_bars(days=1, seed=21)
    value = talib.RSI(bars.close, 14)
    k = int(np.nanargmin(value))
    j = k + 1 + int(np.argmax(value[k + 1 :] > 60))
    assert value[j] > 60
    # low equal to the lowest RSI: never strictly below, never in
    assert not make("rsi_reversion", low=float(value[k]), high=60).targets(bars).any()
    targets = make("rsi_reversion", low=float(value[k]) + 1e-9, high=60).targets(bars)
    first = int(np.argmax(targets))
    assert first == int(np.argmax(value < value[k] + 1e-9))
    assert (targets[first:j] == 1).all()
    assert targets[j] == 0
    assert not targets[:first].any()
    # high equal to RSI at j: not strictly above, so j does not exit
    held = make("rsi_reversion", low=float(value[k]) + 1e-9, high=float(value[j])).targets(bars)
    assert held[j] == 1


def test_bollinger_uses_the_population_sd() -> None:
    # window 10, 10, 12: close - middle = 2u and the population sd is sqrt(2)·u (u = 2/3),
    # the sample sd sqrt(3)·u; so k = 1.3 enters on the population sd and would not on the
    # sample one (2 / sqrt(3) = 1.155 < 1.3 < 2 / sqrt(2) = 1.414)
    close = [10, 10, 12, 11.5, 10.9]
    assert list(make("bollinger_breakout", period=3, k=1.3).targets(bars_of(close))) == [
        0,
        0,
        1,
        1,
        0,
    ]
    assert not make("bollinger_breakout", period=3, k=1.5).targets(bars_of(close)).any()


def test_bollinger_levels_are_strict() -> None:
    # bar 3's window 10, 12, 11 has middle 11 exactly: a close at the middle holds;
    # bar 4's 12, 11, 11.5 has middle 11.5: at it again, held; bar 5's close 11 < 11.5: out
    close = [10, 10, 12, 11, 11.5, 11]
    upper, middle, _ = indicators.bbands(np.array(close, dtype=float), 3, 1.3, 1.3)
    assert middle[3] == close[3]
    assert middle[4] == close[4]
    targets = make("bollinger_breakout", period=3, k=1.3).targets(bars_of(close))
    assert list(targets) == [0, 0, 1, 1, 1, 0]
    # a flat window: sd 0, upper = middle = close; a close at the upper band is not above it
    flat = [10.0] * 6
    upper, middle, _ = indicators.bbands(np.array(flat), 3, 2, 2)
    assert (upper[2:] == 10).all()
    assert not make("bollinger_breakout", period=3, k=2).targets(bars_of(flat)).any()


def test_donchian_uses_previous_bars_only() -> None:
    high = [10, 10, 10.5, 11, 11, 9.6]
    low = [9, 9, 9.5, 10, 10, 9.4]
    close = [9.5, 9.5, 10.2, 10.8, 10.5, 9.45]
    # bar 2: close 10.2 > max(10, 10) though below its own high 10.5: in
    # bar 5: close 9.45 < min(10, 10) though above its own low 9.4: out
    targets = make("donchian_breakout", entry=2, exit=2).targets(bars_of(close, high, low))
    assert list(targets) == [0, 0, 1, 1, 1, 0]


def test_macd_trend_follows_the_crosses_of_the_signal_line() -> None:
    bars = random_minute_bars(days=2, seed=4)
    line, signal, _ = talib.MACD(bars.close, 12, 26, 9)
    targets = make("macd_trend").targets(bars)
    state, expected = 0, []
    for t in range(len(bars)):
        if t and line[t] > signal[t] and line[t - 1] <= signal[t - 1]:
            state = 1
        elif t and line[t] < signal[t] and line[t - 1] >= signal[t - 1]:
            state = 0
        expected.append(state)
    assert list(targets) == expected
    assert 0 < targets.sum() < len(bars)
    assert not targets[: 26 + 9 - 1].any()
    gated = make("macd_trend", above_zero=True).targets(bars)
    entries = np.flatnonzero(np.diff(gated, prepend=0) == 1)
    assert len(entries)
    assert (line[entries] > 0).all()


def orb_day(day: str, step: int = 1) -> dict[str, np.ndarray]:
    n = 375 // step
    return {
        "time": ist_times(day, np.arange(n), step),
        "close": np.full(n, 100.0),
        "high": np.full(n, 101.0),
        "low": np.full(n, 99.0),
    }


def orb_bars(*days: dict[str, np.ndarray]) -> Bars:
    def join(key: str) -> np.ndarray:
        return np.concatenate([d[key] for d in days])

    return bars_of(join("close"), join("high"), join("low"), time=join("time"))


def test_orb_enters_above_the_range_and_squares_off_before_1520_ist() -> None:
    first, second = orb_day("2026-01-05"), orb_day("2026-01-06")
    first["close"][10] = first["high"][10] = 105.0  # a range bar: raises the range, no entry
    first["close"][20] = 104.0  # above 101 but not the range's 105: no entry
    first["close"][30] = first["high"][30] = 106.0  # 09:45: in
    second["close"][20] = second["high"][20] = 102.0  # in
    second["close"][50] = second["low"][50] = 98.5  # below the range low 99: out
    second["close"][60] = second["high"][60] = 102.0  # in again
    bars = orb_bars(first, second)
    targets = make("opening_range_breakout", minutes=15).targets(bars)
    day1, day2 = targets[:375], targets[375:]
    assert not day1[:30].any()
    assert (day1[30:363] == 1).all()  # bar 363 starts at 15:18 IST
    assert not day1[363:].any()
    # the exit decided at 15:18 fills at the next bar's open, 15:19 IST: before 15:20
    exit_fill = indicators.ist_minute(bars.time[364:365])[0]
    assert exit_fill == 15 * 60 + 19
    assert not day2[:20].any()
    assert (day2[20:50] == 1).all()
    assert not day2[50:60].any()
    assert (day2[60:363] == 1).all()
    assert not day2[363:].any()


def test_orb_on_five_minute_bars_is_flat_from_1510() -> None:
    day = orb_day("2026-01-05", step=5)
    day["close"][5] = day["high"][5] = 102.0  # 09:40: in (range bars 09:15, 09:20, 09:25)
    bars = orb_bars(day)
    targets = make("opening_range_breakout", minutes=15).targets(bars)
    assert list(indicators.ist_minute(bars.time[[71, 72]])) == [15 * 60 + 10, 15 * 60 + 15]
    assert not targets[:5].any()
    assert (targets[5:71] == 1).all()
    assert not targets[71:].any()


def test_vwap_reversion_by_hand_and_square_off() -> None:
    day1 = [100, 100, 100, 100, 90, 95, 101, 100]
    day2 = [100, 100, 100, 100, 90, 90]  # the last two at 15:17 and 15:18 IST
    close = [*day1, *day2]
    time = np.concatenate(
        [ist_times("2026-01-05", range(8)), ist_times("2026-01-06", [0, 1, 2, 3, 362, 363])]
    )
    targets = make("vwap_reversion", k=1.0, min_bars=2).targets(bars_of(close, time=time))
    # bar 4: VWAP 98, sd 4, 90 < 94: in; bar 5: 95 < VWAP 97.5: held; bar 6: 101 >= 98: out
    # day 2, 15:17: in (sd > 0, 90 well below); 15:18: flat for the square-off
    assert list(targets[:8]) == [0, 0, 0, 0, 1, 1, 0, 0]
    assert list(targets[8:]) == [0, 0, 0, 0, 1, 0]
    vwap = indicators.vwap(close, close, close, [100] * 14, time)
    assert vwap[4] == 98
    assert indicators.vwap_sd(close, close, close, [100] * 14, time)[4] == 4


def pair_bars(n: int = 240, seed: int = 2) -> tuple[Bars, Bars]:
    rng = np.random.default_rng(seed)
    b = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    a = np.exp(0.5 + 0.8 * np.log(b) + rng.normal(0, 0.002, n))
    a[150] *= np.exp(0.05)  # A rich against B
    a[200] *= np.exp(-0.05)  # A cheap against B
    return bars_of(a), bars_of(b)


def test_pairs_z_score_signs() -> None:
    first, second = pair_bars()
    strategy = make("pairs", lookback=60, entry=3.0, exit=0.5, adf_max=100)
    targets = strategy.targets((first, second))
    fit = rolling_spread(np.log(first.close), np.log(second.close), 60)
    assert fit["z"][150] > 3
    assert fit["z"][200] < -3
    assert list(targets[150]) == [-1, 1]  # short the rich leg, long the cheap one
    assert list(targets[200]) == [1, -1]
    assert not targets[:59].any()  # no full window yet
    assert (targets[:, 0] == -targets[:, 1]).all()


def test_pairs_rolling_fit_matches_a_direct_regression() -> None:
    first, second = pair_bars()
    a, b = np.log(first.close), np.log(second.close)
    fit = rolling_spread(a, b, 60)
    assert np.isnan(fit["z"][:59]).all()
    for t in (59, 100, 150, 239):
        window = slice(t - 59, t + 1)
        beta, alpha = np.polyfit(b[window], a[window], 1)
        resid = a[window] - alpha - beta * b[window]
        lagged, change = resid[:-1], np.diff(resid)
        rho = (lagged @ change) / (lagged @ lagged)
        se = np.sqrt(((change - rho * lagged) ** 2).sum() / (60 - 2) / (lagged @ lagged))
        np.testing.assert_allclose(fit["beta"][t], beta, rtol=1e-8)
        np.testing.assert_allclose(fit["z"][t], resid[-1] / resid.std(), rtol=1e-6)
        np.testing.assert_allclose(fit["adf"][t], rho / se, rtol=1e-6)


def test_pairs_enters_only_on_cointegrated_windows() -> None:
    one = random_minute_bars(days=2, seed=8)
    linked = partner_of(one)
    rng = np.random.default_rng(9)
    wander = np.exp(np.log(100) + np.cumsum(rng.normal(0, 0.002, len(one))))
    unrelated = bars_of(wander, time=one.time)
    for other in (linked, unrelated):
        strategy = make("pairs", lookback=60)
        targets = strategy.targets((one, other))
        fit = rolling_spread(np.log(one.close), np.log(other.close), 60)
        before = np.concatenate(([0.0], targets[:-1, 0]))
        entries = np.flatnonzero((targets[:, 0] != 0) & (targets[:, 0] != before))
        assert (fit["adf"][entries] < strategy.adf_max).all()
        if other is linked:
            assert len(entries) > 0


def test_pairs_needs_two_legs_on_one_grid() -> None:
    first, second = pair_bars()
    with pytest.raises(StrategyError, match="needs a tuple of two Bars"):
        make("pairs").targets(first)
    with pytest.raises(StrategyError, match="not on one time grid"):
        make("pairs").targets((first, second.prefix(100)))


def reverting_bars(n: int = 700, seed: int = 12) -> Bars:
    """Returns that undo most of the last one: a next-bar direction a model can learn."""
    rng = np.random.default_rng(seed)
    ret = np.zeros(n)
    shocks = rng.normal(0, 0.01, n)
    for t in range(1, n):
        ret[t] = -0.6 * ret[t - 1] + shocks[t]
    return bars_of(100 * np.exp(np.cumsum(ret)))


def test_ml_beta_is_beta_and_learns_a_predictable_direction() -> None:
    assert STRATEGIES["ml_beta"].beta
    assert not STRATEGIES["sma_cross"].beta
    bars = reverting_bars()
    strategy = make("ml_beta", threshold=0.5)
    strategy.fit(bars.prefix(400))
    targets = strategy.targets(bars)
    up = bars.close[1:] > bars.close[:-1]
    outside = slice(400, len(bars) - 1)  # out of sample
    hit = (targets[outside] == 1) == up[outside]
    assert hit.mean() > 0.6


def test_ml_beta_expanding_window_trains_on_bars_before_each_block_only() -> None:
    bars = reverting_bars(n=400)
    strategy = make("ml_beta", min_train=120, retrain=90, threshold=0.5)
    targets = strategy.targets(bars)
    assert not targets[:120].any()
    for start in (120, 210, 300, 390):
        refit = make("ml_beta", min_train=120, retrain=90, threshold=0.5)
        refit.fit(bars.prefix(start))  # the complete samples of bars < start
        block = slice(start, min(start + 90, len(bars)))
        assert list(targets[block]) == list(refit.targets(bars)[block])
    assert targets[120:].any()


def test_ml_beta_fit_refuses_too_few_bars() -> None:
    with pytest.raises(StrategyError, match="too few bars to fit"):
        make("ml_beta").fit(bars_of(np.linspace(100, 110, 15)))


def test_ml_beta_features_and_labels_by_hand() -> None:
    close = 100 + np.cumsum(np.random.default_rng(0).normal(size=60))
    for lags, warm in ((5, 19), (25, 25)):
        x = features(close, lags)
        assert x.shape == (60, lags + 2)
        assert int(np.argmax(np.isfinite(x).all(axis=1))) == warm
    x = features(close, 3)
    t = 30
    ret = np.log(close[t - 2 : t + 1]) - np.log(close[t - 3 : t])
    np.testing.assert_allclose(x[t, :3], ret[::-1])  # r_t, r_(t-1), r_(t-2)
    np.testing.assert_allclose(x[t, 4], close[t] / close[t - 19 : t + 1].mean() - 1)
    assert list(labels(np.array([1.0, 2.0, 2.0, 1.0]))) == [1, 0, 0, -1]


def test_pairs_fit_in_chunks_is_the_fit_in_one(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = pair_bars()
    a, b = np.log(first.close), np.log(second.close)
    whole = rolling_spread(a, b, 60)
    monkeypatch.setattr("strategies.rules.pairs.WINDOW_VALUES", 60 * 7)  # 7 windows a chunk
    chunked = rolling_spread(a, b, 60)
    for key, values in whole.items():
        np.testing.assert_array_equal(chunked[key], values)
    assert np.isfinite(whole["z"][59:]).all()
