"""The metrics on hand-computed series, None for every undefined ratio, and the periods a
year told from the bars' spacing."""

import math

import numpy as np
import pytest

from strategies.base import Trade
from strategies.metrics import metrics_compute, periods_per_year_infer


def _trade(pnl: float) -> Trade:
    return Trade(entry_index=0, entry_price=1.0, exit_index=1, exit_price=1.0, quantity=1, pnl=pnl)


def _metrics(equity, trades=(), exposure=0.0, periods_per_year=252.0):
    return metrics_compute(
        equity=np.asarray(equity, dtype=np.float64),
        trades=list(trades),
        exposure=exposure,
        periods_per_year=periods_per_year,
    )


def test_metrics_of_a_hand_computed_series():
    equity = [100.0, 110.0, 99.0, 108.9, 117.612]
    m = _metrics(
        equity, [_trade(12.0), _trade(-4.0), _trade(0.0), _trade(6.0)],
        exposure=0.6,
    )  # fmt: skip
    returns = [0.10, -0.10, 0.10, 0.08]
    mean = sum(returns) / 4
    std = math.sqrt(sum((r - mean) ** 2 for r in returns) / 3)
    downside = math.sqrt((0.10**2) / 4)
    assert m["total_return"] == pytest.approx(0.17612)
    assert m["cagr"] == pytest.approx(1.17612 ** (252 / 4) - 1)
    assert m["sharpe"] == pytest.approx(mean / std * math.sqrt(252))
    assert m["sortino"] == pytest.approx(mean / downside * math.sqrt(252))
    assert m["max_drawdown_pct"] == pytest.approx(10.0)  # 110 down to 99
    assert m["profit_factor"] == pytest.approx(18.0 / 4.0)
    assert m["win_rate"] == pytest.approx(2 / 4)  # the zero pnl is not a win
    assert m["num_trades"] == 4
    assert m["total_pnl"] == pytest.approx(14.0)
    assert m["final_equity"] == 117.612
    assert m["exposure"] == pytest.approx(3 / 5)


def test_the_deepest_drawdown_is_measured_from_its_own_peak():
    m = _metrics([100.0, 80.0, 120.0, 90.0, 130.0])
    assert m["max_drawdown_pct"] == pytest.approx(25.0)  # 120 to 90, deeper than 100 to 80


def test_undefined_ratios_are_none_never_inf_or_nan():
    flat = _metrics([100.0, 100.0, 100.0, 100.0])
    assert flat["sharpe"] is None  # std 0
    assert flat["sortino"] is None  # no downside
    assert flat["profit_factor"] is None  # no trades
    assert flat["win_rate"] is None
    assert flat["total_return"] == 0.0
    assert flat["cagr"] == 0.0
    assert flat["max_drawdown_pct"] == 0.0

    rising = _metrics([100.0, 101.0, 103.0], [_trade(3.0)])
    assert rising["sortino"] is None  # no return below 0
    assert rising["sharpe"] is not None
    assert rising["profit_factor"] is None  # no losing trade
    assert rising["win_rate"] == 1.0

    one_bar = _metrics([100.0])
    assert one_bar["cagr"] is None
    assert one_bar["sharpe"] is None
    assert one_bar["total_return"] == 0.0

    two_bars = _metrics([100.0, 90.0])  # one return: no sample std
    assert two_bars["sharpe"] is None

    ruined = _metrics([100.0, 50.0, -10.0, 5.0], [_trade(-95.0)])
    assert ruined["cagr"] is None or math.isfinite(ruined["cagr"])
    assert ruined["profit_factor"] == 0.0
    for value in [*flat.values(), *rising.values(), *one_bar.values(), *ruined.values()]:
        assert value is None or math.isfinite(value)


def test_periods_a_year_follow_the_bars_spacing():
    days = np.arange("2024-01-01", "2024-03-01", dtype="datetime64[D]")
    weekdays = days[np.is_busday(days)].astype("datetime64[us]")
    assert periods_per_year_infer(weekdays) == 252
    minutes = np.datetime64("2024-01-01T03:45", "us") + np.arange(500) * np.timedelta64(1, "m")
    assert periods_per_year_infer(minutes) == 252 * 375
    five = np.datetime64("2024-01-01T03:45", "us") + np.arange(500) * np.timedelta64(5, "m")
    assert periods_per_year_infer(five) == 252 * 75
    weeks = np.datetime64("2024-01-01", "us") + np.arange(30) * np.timedelta64(7, "D")
    assert periods_per_year_infer(weeks) == 52


def test_minute_bars_annualise_with_252_x_375():
    equity = [100.0, 100.5, 100.2, 100.9]
    m = _metrics(equity, periods_per_year=252 * 375)
    returns = np.diff(equity) / equity[:-1]
    assert m["sharpe"] == pytest.approx(returns.mean() / returns.std(ddof=1) * math.sqrt(94_500))
    assert m["cagr"] == pytest.approx((100.9 / 100.0) ** (94_500 / 3) - 1)
