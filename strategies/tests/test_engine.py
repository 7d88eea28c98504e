"""The engine's rules, each on hand-made bars, and the vectorised engine against a plain
bar-by-bar loop written here from the rules."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies.base import StrategyError
from strategies.engine import RiskSizing, backtest, backtest_targets
from strategies.tests.engine_fixtures import SmaCrossReference, bars_make

OPENS = [100.0, 101.0, 103.0, 104.0, 102.0, 106.0]
CLOSES = [100.5, 102.0, 103.5, 103.0, 105.0, 107.0]


def test_a_target_fills_at_the_next_bars_open():
    bars = bars_make(OPENS, CLOSES)
    result = backtest_targets(np.array([0, 1, 1, 0, 0, 0]), bars, quantity=10, cash=10_000.0)
    [trade] = result.trades
    # Decided at bar 1's close, bought at bar 2's open; sold at bar 4's open.
    assert (trade.entry_index, trade.entry_price) == (2, 103.0)
    assert (trade.exit_index, trade.exit_price) == (4, 102.0)
    assert trade.quantity == 10
    assert trade.pnl == pytest.approx((102.0 - 103.0) * 10)
    assert result.open_position is None


def test_a_change_of_target_on_the_last_bar_never_fills():
    bars = bars_make(OPENS, CLOSES)
    result = backtest_targets(np.array([0, 0, 0, 0, 0, 1]), bars, quantity=10, cash=10_000.0)
    assert result.trades == []
    assert result.open_position is None
    assert np.all(result.equity == 10_000.0)
    assert result.metrics["exposure"] == 0.0


def test_an_exit_signal_on_the_last_bar_leaves_the_position_open():
    bars = bars_make(OPENS, CLOSES)
    result = backtest_targets(np.array([1, 1, 1, 1, 1, 0]), bars, quantity=10, cash=10_000.0)
    assert result.trades == []
    assert result.open_position["entry_index"] == 1
    assert result.open_position["entry_price"] == 101.0


def test_end_of_data_is_not_an_exit():
    bars = bars_make(OPENS, CLOSES)
    result = backtest_targets(
        np.array([0, 0, 1, 1, 1, 1]), bars, quantity=10, cash=10_000.0, commission_pct=0.1
    )
    assert result.trades == []
    assert result.metrics["num_trades"] == 0
    position = result.open_position
    assert position["entry_index"] == 3
    assert position["entry_label"] == bars.labels[3]
    assert position["entry_price"] == 104.0
    assert position["quantity"] == 10
    entry_commission = 10 * 104.0 * 0.001
    assert position["unrealised_pnl"] == pytest.approx((107.0 - 104.0) * 10 - entry_commission)
    # Marked to the last close: no exit commission is taken.
    assert result.equity[-1] == pytest.approx(10_000.0 - 1040.0 - entry_commission + 1070.0)


def test_commission_is_paid_on_both_sides():
    bars = bars_make(OPENS, CLOSES)
    result = backtest_targets(
        np.array([0, 1, 1, 0, 0, 0]), bars, quantity=10, cash=10_000.0, commission_pct=0.1
    )
    [trade] = result.trades
    entry_commission, exit_commission = 1030.0 * 0.001, 1020.0 * 0.001
    assert trade.costs == pytest.approx(entry_commission + exit_commission)
    assert trade.pnl == pytest.approx(-10.0 - entry_commission - exit_commission)
    # Cash pays the entry's commission at the entry bar and the exit's at the exit bar.
    assert result.equity[2] == pytest.approx(10_000.0 - 1030.0 - entry_commission + 1035.0)
    assert result.equity[4] == pytest.approx(10_000.0 + trade.pnl)
    assert result.equity[5] == result.equity[4]


def test_equity_has_a_value_for_every_bar_warm_up_included():
    bars = bars_make(OPENS, CLOSES)
    result = backtest_targets(np.array([0, 1, 1, 0, 0, 0]), bars, quantity=10, cash=10_000.0)
    # equity[t] = cash after bar t's fills + shares x close[t]
    expected = [
        10_000.0,  # flat; the target of bar 1 is not filled yet
        10_000.0,
        10_000.0 - 1030.0 + 10 * 103.5,
        10_000.0 - 1030.0 + 10 * 103.0,
        10_000.0 - 1030.0 + 1020.0,
        10_000.0 - 1030.0 + 1020.0,
    ]
    assert len(result.equity) == len(bars)
    np.testing.assert_allclose(result.equity, expected, rtol=0, atol=1e-9)
    assert result.metrics["exposure"] == pytest.approx(2 / 6)


def test_a_held_target_is_one_position_not_a_fill_per_bar():
    bars = bars_make(OPENS, CLOSES)
    result = backtest_targets(np.array([1, 1, 1, 1, 1, 1]), bars, quantity=1, cash=1000.0)
    assert result.trades == []
    assert result.open_position["entry_index"] == 1
    # Bought once: the cash moves on one bar only.
    assert result.equity[1] == pytest.approx(1000.0 - 101.0 + 102.0)


def test_the_cross_is_an_event_not_a_state():
    # SMA(1) against SMA(2): fast is already above slow when both are first defined (bar 1),
    # which is not a cross; the first cross up is at bar 4.
    closes = [10.0, 12.0, 13.0, 11.0, 14.0, 15.0, 15.5]
    bars = bars_make(closes, closes)
    strategy = SmaCrossReference(fast=1, slow=2)
    targets = strategy.targets(bars)
    np.testing.assert_array_equal(targets, [0, 0, 0, 0, 1, 1, 1])
    result = backtest(strategy, bars, quantity=1, cash=100.0)
    assert result.trades == []
    assert result.open_position["entry_index"] == 5


def test_a_short_leg_gains_when_the_price_falls():
    bars = bars_make([100.0, 100.0, 90.0, 80.0], [100.0, 95.0, 85.0, 80.0])
    result = backtest_targets(
        np.array([-1, -1, 0, 0]), bars, quantity=5, cash=1000.0, shorts=True, commission_pct=1
    )
    [trade] = result.trades
    assert (trade.entry_index, trade.exit_index, trade.quantity) == (1, 3, -5)
    costs = (500.0 + 400.0) * 0.01
    assert trade.pnl == pytest.approx((80.0 - 100.0) * -5 - costs)
    # Short during bar 1: cash + 500 from the sale, minus 5 x close.
    assert result.equity[1] == pytest.approx(1000.0 + 500.0 - 5.0 - 5 * 95.0)
    assert result.equity[-1] == pytest.approx(1000.0 + trade.pnl)


def test_shorts_are_refused_unless_allowed():
    bars = bars_make(OPENS, CLOSES)
    with pytest.raises(StrategyError, match=r"-1\.0 at bar 2; expected 0 or 1 \(shorts are off\)"):
        backtest_targets(np.array([0, 0, -1, 0, 0, 0]), bars)


def test_a_reversal_closes_one_trade_and_opens_the_next_at_the_same_open():
    bars = bars_make(OPENS, CLOSES)
    result = backtest_targets(np.array([1, 1, -1, -1, 0, 0]), bars, quantity=2, shorts=True)
    long, short = result.trades
    assert (long.entry_index, long.exit_index, long.quantity) == (1, 3, 2)
    assert (short.entry_index, short.exit_index, short.quantity) == (3, 5, -2)
    assert long.exit_price == short.entry_price == 104.0
    assert long.pnl == pytest.approx((104.0 - 101.0) * 2)
    assert short.pnl == pytest.approx((106.0 - 104.0) * -2)


def test_two_leg_targets_trade_each_leg_on_one_time_grid():
    a = bars_make([100.0, 100.0, 110.0, 120.0, 120.0], symbol="A")
    b = bars_make([50.0, 50.0, 45.0, 40.0, 44.0], symbol="B")
    targets = np.array([[1, -1], [1, -1], [0, 0], [0, -1], [0, -1]])
    result = backtest_targets(targets, (a, b), quantity=(1, 2), cash=1000.0, shorts=True)
    # Sorted by exit bar, then leg.
    assert [(t.leg, t.entry_index, t.exit_index, t.quantity) for t in result.trades] == [
        (0, 1, 3, 1),
        (1, 1, 3, -2),
    ]
    assert result.trades[0].pnl == pytest.approx(120.0 - 100.0)
    assert result.trades[1].pnl == pytest.approx((40.0 - 50.0) * -2)
    assert result.open_position["legs"][0]["symbol"] == "B"
    assert result.open_position["legs"][0]["entry_index"] == 4
    assert result.open_position["unrealised_pnl"] == pytest.approx((44.0 - 44.0) * -2)
    # During bar 2 both legs are open: cash 1000 - 100 + 100 and marks 110 and -2 x 45.
    assert result.equity[2] == pytest.approx(1000.0 - 100.0 + 100.0 + 110.0 - 90.0)
    assert result.metrics["exposure"] == pytest.approx(3 / 5)  # bars 1, 2 and 4


def test_legs_must_share_one_time_grid():
    a = bars_make([1.0, 2.0, 3.0], symbol="A")
    b = bars_make([1.0, 2.0, 3.0], start="2024-02-01", symbol="B")
    with pytest.raises(StrategyError, match=r"leg 1 \(B\) is not on leg 0's time grid"):
        backtest_targets(np.zeros((3, 2)), (a, b))


def test_slippage_moves_every_fill_against_the_trader():
    bars = bars_make([100.0, 100.0, 100.0, 100.0, 100.0, 100.0])
    result = backtest_targets(
        np.array([1, 0, -1, 0, 0, 0]), bars, quantity=1, slippage_bps=50, shorts=True
    )
    long, short = result.trades
    assert long.entry_price == pytest.approx(100.5)  # a buy pays more
    assert long.exit_price == pytest.approx(99.5)  # a sell gets less
    assert short.entry_price == pytest.approx(99.5)  # a short sale gets less
    assert short.exit_price == pytest.approx(100.5)  # the cover pays more
    assert long.pnl == pytest.approx(-1.0)
    assert short.pnl == pytest.approx(-1.0)


def test_costs_are_asked_for_each_fill_and_charged():
    bars = bars_make(OPENS, CLOSES)
    asked = []

    def costs(side, quantity, price, bar_time):
        asked.append((side, quantity, price, str(bar_time)[:10]))
        return 2.5 if side == "BUY" else 1.5

    result = backtest_targets(np.array([0, 1, 1, 0, 0, 0]), bars, quantity=3, costs=costs)
    assert asked == [("BUY", 3, 103.0, "2024-01-03"), ("SELL", 3, 102.0, "2024-01-05")]
    [trade] = result.trades
    assert trade.costs == 4.0
    assert trade.pnl == pytest.approx(-3.0 - 4.0)


@pytest.mark.parametrize(
    ("targets", "problem"),
    [
        ([0, 0.5, 0, 0, 0, 0], r"0\.5 at bar 1"),
        ([0, np.nan, 0, 0, 0, 0], r"nan at bar 1"),
        ([0, 0, 0], r"shape \(3,\), expected \(6,\)"),
    ],
)
def test_bad_targets_are_refused(targets, problem):
    with pytest.raises(StrategyError, match=problem):
        backtest_targets(np.array(targets), bars_make(OPENS, CLOSES))


def test_a_bad_quantity_is_refused():
    with pytest.raises(StrategyError, match="quantity 0"):
        backtest_targets(np.zeros(6), bars_make(OPENS, CLOSES), quantity=0)


def _loop(targets, legs, quantities, cash, commission_pct, slippage_bps):
    """The rules bar by bar, the plain way: a reference for the vectorised engine."""
    n = len(legs[0])
    position = [0.0] * len(legs)
    entry = [None] * len(legs)  # (index, price, cost)
    trades, equity, in_market = [], [], 0
    for t in range(n):
        for leg, bars in enumerate(legs):
            want = targets[t - 1][leg] if t > 0 else 0.0
            if want == position[leg]:
                continue
            q = quantities[leg]
            if position[leg] != 0:
                sign = position[leg]
                price = bars.open[t] * (1 - sign * slippage_bps / 1e4)
                cost = q * price * commission_pct / 100
                cash += sign * q * price - cost
                i, entry_price, entry_cost = entry[leg]
                trades.append(
                    (
                        t,
                        leg,
                        i,
                        entry_price,
                        price,
                        (price - entry_price) * sign * q - entry_cost - cost,
                    )
                )
                position[leg], entry[leg] = 0.0, None
            if want != 0:
                price = bars.open[t] * (1 + want * slippage_bps / 1e4)
                cost = q * price * commission_pct / 100
                cash -= want * q * price + cost
                position[leg], entry[leg] = want, (t, price, cost)
        in_market += any(p != 0 for p in position)
        equity.append(
            cash
            + sum(p * q * b.close[t] for p, q, b in zip(position, quantities, legs, strict=True))
        )
    return sorted(trades), equity, in_market / n


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    n=st.integers(1, 60),
    legs=st.integers(1, 2),
    shorts=st.booleans(),
    commission_pct=st.sampled_from([0.0, 0.03, 0.5]),
    slippage_bps=st.sampled_from([0.0, 5.0]),
)
def test_the_vectorised_engine_matches_a_bar_by_bar_loop(
    seed, n, legs, shorts, commission_pct, slippage_bps
):
    rng = np.random.default_rng(seed)
    choices = [-1.0, 0.0, 1.0] if shorts else [0.0, 1.0]
    targets = rng.choice(choices, size=(n, legs))
    bars = tuple(
        bars_make(np.round(100 + rng.normal(0, 5, n), 2), np.round(100 + rng.normal(0, 5, n), 2))
        for _ in range(legs)
    )
    quantities = [int(q) for q in rng.integers(1, 20, legs)]
    result = backtest_targets(
        targets if legs > 1 else targets[:, 0], bars if legs > 1 else bars[0],
        quantity=quantities if legs > 1 else quantities[0], cash=50_000.0,
        commission_pct=commission_pct, slippage_bps=slippage_bps, shorts=shorts,
    )  # fmt: skip
    trades, equity, exposure = _loop(
        targets, bars, quantities, 50_000.0, commission_pct, slippage_bps
    )
    got = sorted(
        (t.exit_index, t.leg, t.entry_index, t.entry_price, t.exit_price, t.pnl)
        for t in result.trades
    )
    assert [g[:3] for g in got] == [w[:3] for w in trades]
    np.testing.assert_allclose([g[3:] for g in got], [w[3:] for w in trades], atol=1e-9)
    np.testing.assert_allclose(result.equity, equity, rtol=0, atol=1e-7)
    assert result.metrics["exposure"] == pytest.approx(exposure)
    # Final equity is the cash, the closed trades' pnl and the open position's.
    unrealised = (result.open_position or {}).get("unrealised_pnl", 0.0)
    assert math.isclose(
        result.equity[-1], 50_000.0 + sum(t.pnl for t in result.trades) + unrealised,
        abs_tol=1e-7,
    )  # fmt: skip


def test_periods_a_year_come_from_the_bars_unless_given():
    daily = bars_make(OPENS, CLOSES)
    minutes = bars_make(OPENS, CLOSES, step="m")
    targets = np.array([0, 1, 1, 0, 0, 0])
    assert backtest_targets(targets, daily).metrics["periods_per_year"] == 252
    assert backtest_targets(targets, minutes).metrics["periods_per_year"] == 252 * 375
    given = backtest_targets(targets, minutes, periods_per_year=1000.0).metrics
    assert given["periods_per_year"] == 1000.0
    inferred = backtest_targets(targets, minutes).metrics
    assert given["sharpe"] == pytest.approx(inferred["sharpe"] * math.sqrt(1000 / 94_500))


def test_a_multi_leg_strategy_needs_a_tuple_of_bars():
    class TwoLegs(SmaCrossReference):
        name = "two_legs"
        legs = 2

    with pytest.raises(StrategyError, match="two_legs trades 2 legs: give a tuple of bars"):
        backtest(TwoLegs(), bars_make(OPENS, CLOSES))


# --- risk sizing: the 2 % rule at an ATR stop ---------------------------------------------

DRIFT = [100.0 + 0.5 * t for t in range(60)]  # high - low = 2 every bar: ATR(14) = 2


def _held(targets_on: dict[range, int]) -> np.ndarray:
    targets = np.zeros(60)
    for bars, value in targets_on.items():
        targets[bars.start : bars.stop] = value
    return targets


def test_risk_sizing_risks_the_percent_of_equity_at_the_decision_close():
    bars = bars_make(DRIFT)
    sizing = RiskSizing(risk_pct=2, stop_atr=2)
    targets = _held({range(20, 30): 1, range(40, 50): 1})
    result = backtest_targets(targets, bars, cash=1_000_000.0, sizing=sizing)
    first, second = result.trades
    # Decided at bar 20 (close 110, ATR 2, stop 4 away): 2 % of 1,000,000 / 4 = 5,000.
    assert (first.entry_index, first.quantity, first.entry_price) == (21, 5000, 110.5)
    assert first.pnl == pytest.approx((115.5 - 110.5) * 5000)
    # The next entry is sized from the equity after the first trade's pnl: 1,025,000.
    assert (second.entry_index, second.quantity) == (41, 5125)
    # Equity at every bar marks each trade's own shares.
    assert result.equity[25] == pytest.approx(1_000_000 + 5000 * (112.5 - 110.5))
    assert result.equity[-1] == pytest.approx(1_000_000 + first.pnl + second.pnl)


def test_risk_sizing_is_capped_at_what_the_equity_buys():
    bars = bars_make(DRIFT)
    result = backtest_targets(
        _held({range(20, 30): 1}), bars, cash=1_000_000.0, sizing=RiskSizing(2, stop_atr=0.1)
    )
    # 20,000 / 0.2 would be 100,000 shares; 1,000,000 buys 9,090 at the close of 110.
    assert result.trades[0].quantity == 9090


def test_risk_sizing_takes_no_entry_before_the_atr_is_known_nor_its_exit():
    bars = bars_make(DRIFT)
    result = backtest_targets(_held({range(5, 10): 1}), bars, cash=1e6, sizing=RiskSizing())
    assert result.trades == []
    assert result.open_position is None
    assert np.all(result.equity == 1e6)
    assert result.metrics["exposure"] == 0.0


def test_risk_sizing_a_reversal_counts_the_held_trade_at_the_decision_close():
    bars = bars_make(DRIFT)
    targets = _held({range(20, 30): 1, range(30, 40): -1})
    result = backtest_targets(targets, bars, cash=1e6, shorts=True, sizing=RiskSizing(2, 2))
    long, short = result.trades
    assert long.quantity == 5000
    # Decided at bar 30's close (115), the long still held: 1e6 + (115 - 110.5) x 5,000.
    assert (short.entry_index, short.quantity) == (31, -((1_022_500 * 0.02) // 4))


def test_risk_sizing_charges_commission_on_the_sized_quantity():
    bars = bars_make(DRIFT)
    result = backtest_targets(
        _held({range(20, 30): 1}), bars, cash=1e6, commission_pct=0.1, sizing=RiskSizing()
    )
    [trade] = result.trades
    assert trade.costs == pytest.approx(5000 * (110.5 + 115.5) * 0.001)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"risk_pct": 0}, "risk_pct"), ({"risk_pct": 101}, "risk_pct"),
     ({"stop_atr": -1}, "stop_atr"), ({"atr_period": 0}, "atr_period")],
)  # fmt: skip
def test_risk_sizing_refuses_bad_settings(kwargs, message):
    with pytest.raises(StrategyError, match=message):
        RiskSizing(**kwargs)


def test_risk_sizing_is_for_one_instrument():
    bars = bars_make(DRIFT)
    with pytest.raises(StrategyError, match="one instrument"):
        backtest_targets(np.zeros((60, 2)), (bars, bars), sizing=RiskSizing())


def test_risk_sizing_sizes_a_position_still_open_at_the_end():
    bars = bars_make(DRIFT)
    result = backtest_targets(
        _held({range(20, 30): 1, range(40, 60): 1}), bars, cash=1e6, sizing=RiskSizing()
    )
    [closed] = result.trades
    held = result.open_position
    assert (held["entry_index"], held["quantity"]) == (41, (1e6 + closed.pnl) * 0.02 // 4)
    assert result.equity[-1] == pytest.approx(1e6 + closed.pnl + held["unrealised_pnl"])


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    n=st.integers(2, 120),
    shorts=st.booleans(),
    commission_pct=st.sampled_from([0.0, 0.03, 0.5]),
    slippage_bps=st.sampled_from([0.0, 5.0]),
    risk_pct=st.sampled_from([0.5, 2.0, 25.0]),
)
def test_risk_sizing_sizes_each_entry_from_the_engines_own_equity_at_its_decision(
    seed, n, shorts, commission_pct, slippage_bps, risk_pct
):
    from strategies.indicators import atr
    from strategies.sizing import entry_shares

    rng = np.random.default_rng(seed)
    opens = np.round(100 + np.cumsum(rng.normal(0, 2, n)), 2).clip(5)
    closes = np.round(opens + rng.normal(0, 1, n), 2).clip(5)
    bars = bars_make(opens, closes)
    targets = rng.choice([-1.0, 0.0, 1.0] if shorts else [0.0, 1.0], size=n)
    sizing = RiskSizing(risk_pct=risk_pct, stop_atr=1.5, atr_period=3)
    result = backtest_targets(
        targets, bars, cash=100_000.0, shorts=shorts, commission_pct=commission_pct,
        slippage_bps=slippage_bps, sizing=sizing,
    )  # fmt: skip
    average_range = atr(bars.high, bars.low, bars.close, 3)
    entries = [(t.entry_index, t.quantity) for t in result.trades]
    if result.open_position is not None:
        entries.append((result.open_position["entry_index"], result.open_position["quantity"]))
    for entry, quantity in entries:
        decided = entry - 1
        expected = entry_shares(
            equity=float(result.equity[decided]), close=float(closes[decided]),
            average_range=float(average_range[decided]), direction=float(np.sign(quantity)),
            risk_pct=risk_pct, stop_atr=1.5,
        )  # fmt: skip
        assert abs(quantity) == expected > 0
    unrealised = result.open_position["unrealised_pnl"] if result.open_position else 0.0
    total = 100_000.0 + sum(t.pnl for t in result.trades) + unrealised
    assert result.equity[-1] == pytest.approx(total, rel=1e-12, abs=1e-6)
