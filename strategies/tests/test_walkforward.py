"""Walk-forward and optimisation (``strategies.walkforward`` and ``manage.py walkforward``):
spaces, ranking, windows, stitching, degradation, no peeking and no future leak, the
same results in several processes, and the command end to end. No database."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from strategies.base import STRATEGIES, Bars, Param, Strategy, StrategyError, strategy_make
from strategies.engine import backtest
from strategies.tests.catalogue_bars import partner_of, random_minute_bars
from strategies.walkforward import (
    Evaluation,
    Grid,
    RandomSpace,
    Window,
    _ranked,
    degradation_compute,
    optimise,
    peek_check,
    walk_forward,
    windows_make,
)

BARS = random_minute_bars(days=4, seed=3)  # 1,500 one-minute bars
GRID = Grid({"fast": [3, 5, 8], "slow": [10, 20, 40]})
WF = {"windows": 3, "in_sample": 600, "out_of_sample": 300}


class Holder(Strategy):
    """Targets ``level`` on every bar: a position that never changes by itself."""

    name = "wf_holder"
    title = "Holds"
    params = (Param("level", int, 1, low=0, high=1),)

    def targets(self, bars: Bars) -> np.ndarray:
        return np.full(len(bars), float(self.level))


class Peeker(Strategy):
    """Long when the *next* close is higher: a leak the walk-forward must refuse."""

    name = "wf_peeker"
    title = "Looks one bar ahead"
    params = (Param("lag", int, 1, low=1, high=5),)

    def targets(self, bars: Bars) -> np.ndarray:
        close = bars.close
        out = np.zeros(len(close))
        out[:-1] = close[1:] > close[:-1]
        return out


class EndPeeker(Strategy):
    """Long where the close 300 bars on (or the last it is given) is higher: it peeks as
    far as it can see."""

    name = "wf_end_peeker"
    title = "Looks to the end"
    params = (Param("lag", int, 1, low=1, high=5),)

    def targets(self, bars: Bars) -> np.ndarray:
        ahead = np.minimum(np.arange(len(bars)) + 300, len(bars) - 1)
        return (bars.close[ahead] > bars.close).astype(np.float64)


class Learner(Strategy):
    """Records the bars each fit saw; long above the mean close it learnt."""

    name = "wf_learner"
    title = "Learns a level"
    params = (Param("k", int, 0, low=0, high=3),)
    fits: list[tuple[np.datetime64, np.datetime64]] = []

    def fit(self, bars: Bars) -> None:
        Learner.fits.append((bars.time[0], bars.time[-1]))
        self.level = float(bars.close.mean())

    def targets(self, bars: Bars) -> np.ndarray:
        level = getattr(self, "level", np.inf)
        return (bars.close > level + self.k * 0.01).astype(np.float64)


@pytest.fixture(autouse=True)
def registered(monkeypatch):
    import strategies.catalogue  # noqa: F401

    for cls in (Holder, Peeker, EndPeeker, Learner):
        monkeypatch.setitem(STRATEGIES, cls.name, cls)


# --- spaces ----------------------------------------------------------------------------


def test_grid_is_every_combination_with_invalid_points_skipped_and_counted():
    points = Grid({"fast": [5, 10, 30], "slow": [10, 30]}).points("sma_cross")
    assert points.valid == [
        {"fast": 5, "slow": 10}, {"fast": 5, "slow": 30}, {"fast": 10, "slow": 30},
    ]  # fmt: skip
    assert [p for p, _ in points.skipped] == [
        {"fast": 10, "slow": 10}, {"fast": 30, "slow": 10}, {"fast": 30, "slow": 30},
    ]  # fmt: skip
    assert all("fast" in why and "less than slow" in why for _, why in points.skipped)
    # text values (from the command line) are typed by the strategy's Param
    assert Grid({"fast": ["5"], "slow": ["9"]}).points("sma_cross").valid == [
        {"fast": 5, "slow": 9}
    ]
    # out of bounds is a skipped point, not a crash
    assert len(Grid({"fast": [0, 2], "slow": [9]}).points("sma_cross").skipped) == 1


@pytest.mark.parametrize(
    ("space", "message"),
    [
        (Grid({"fast": [5], "speed": [1]}), "no parameter speed"),
        (Grid({"fast": []}), "fast has no values"),
        (Grid({}), "no parameters"),
        (Grid({"fast": ["quick"]}), "fast: 'quick' is not int"),
        (RandomSpace({"slow": (50, 10)}, samples=3), "low 50 above high 10"),
        (RandomSpace({"fast": (1, 9)}, samples=0), "samples 0"),
    ],
)
def test_bad_spaces_are_refused_by_name(space, message):
    with pytest.raises(StrategyError, match=message):
        space.points("sma_cross")


def test_random_space_is_seeded_in_range_and_counts_every_sample():
    space = RandomSpace({"fast": (2, 30), "slow": (5, 60)}, samples=40, seed=1)
    points = space.points("sma_cross")
    assert len(points.valid) + len(points.skipped) == 40
    assert points.skipped, "fast >= slow must turn up in 40 draws and be skipped"
    for point in points.valid:
        assert isinstance(point["fast"], int)
        assert 2 <= point["fast"] <= 30
        assert 5 <= point["slow"] <= 60
        assert point["fast"] < point["slow"]
    assert RandomSpace(space.ranges, samples=40, seed=1).points("sma_cross") == points
    assert RandomSpace(space.ranges, samples=40, seed=2).points("sma_cross") != points
    floats = RandomSpace({"k": (0.5, 3.0)}, samples=5, seed=0).points("bollinger_breakout")
    assert all(isinstance(p["k"], float) and 0.5 <= p["k"] <= 3 for p in floats.valid)
    assert len({p["k"] for p in floats.valid}) == 5


# --- ranking ---------------------------------------------------------------------------


def test_ranking_puts_none_last_and_breaks_ties_by_order():
    points = [{"i": i} for i in range(5)]
    metrics = [
        {"sharpe": 1.0, "max_drawdown_pct": 5.0}, {"sharpe": None, "max_drawdown_pct": 1.0},
        {"sharpe": 2.0, "max_drawdown_pct": 5.0}, {"sharpe": 1.0, "max_drawdown_pct": 9.0},
        {"sharpe": -3.0, "max_drawdown_pct": 0.5},
    ]  # fmt: skip
    order = [e.params["i"] for e in _ranked("sharpe", points, metrics)]
    assert order == [2, 0, 3, 4, 1]
    assert [e.params["i"] for e in _ranked("max_drawdown_pct", points, metrics)] == [4, 1, 0, 2, 3]
    assert isinstance(_ranked("sharpe", points, metrics)[0], Evaluation)


def test_optimise_ranks_each_point_by_its_own_backtest():
    result = optimise("sma_cross", BARS, GRID, processes=1, quantity=5, commission_pct=0.01)
    assert len(result.ranked) == 9
    assert result.skipped == []
    for evaluation in result.ranked:
        alone = backtest(strategy_make("sma_cross", evaluation.params), BARS, quantity=5,
                         commission_pct=0.01)  # fmt: skip
        assert evaluation.metrics == alone.metrics
        assert evaluation.objective == alone.metrics["sharpe"]
    values = [e.objective for e in result.ranked]
    assert values == sorted(values, reverse=True)
    with pytest.raises(StrategyError, match="objective 'luck'"):
        optimise("sma_cross", BARS, GRID, objective="luck", processes=1)
    with pytest.raises(StrategyError, match="no valid point"):
        optimise("sma_cross", BARS, Grid({"fast": [50], "slow": [20]}), processes=1)


def test_several_processes_give_the_single_process_results():
    one = optimise("sma_cross", BARS, GRID, processes=1, commission_pct=0.02)
    two = optimise("sma_cross", BARS, GRID, processes=2, commission_pct=0.02)
    assert two.ranked == one.ranked
    wf_one = walk_forward("sma_cross", BARS, GRID, processes=1, **WF)
    wf_two = walk_forward("sma_cross", BARS, GRID, processes=2, **WF)
    assert np.array_equal(wf_one.oos_equity, wf_two.oos_equity)
    assert wf_one.windows == wf_two.windows
    assert wf_one.degradation == wf_two.degradation


# --- windows ---------------------------------------------------------------------------


def test_rolling_and_anchored_bounds():
    rolling = windows_make(105, windows=3, in_sample=40, out_of_sample=20)
    # placed so the last out-of-sample bar is the last bar: 5 bars left over at the start
    assert rolling == [Window(0, 5, 45, 45, 65), Window(1, 25, 65, 65, 85),
                       Window(2, 45, 85, 85, 105)]  # fmt: skip
    anchored = windows_make(105, windows=3, in_sample=40, out_of_sample=20, anchored=True)
    assert anchored == [Window(0, 5, 45, 45, 65), Window(1, 5, 65, 65, 85),
                        Window(2, 5, 85, 85, 105)]  # fmt: skip
    # defaults: out-of-sample n // (windows + 4), in-sample four times it
    assert windows_make(90, windows=5)[0] == Window(0, 0, 40, 40, 50)
    assert windows_make(100, windows=2, in_sample=50)[-1] == Window(1, 25, 75, 75, 100)
    with pytest.raises(StrategyError, match="need 120 bars; there are 100"):
        windows_make(100, windows=4, in_sample=40, out_of_sample=20)
    with pytest.raises(StrategyError, match="must each be 2 or more"):
        windows_make(100, windows=3, in_sample=1, out_of_sample=20)


def test_walk_forward_reports_bounds_labels_and_in_sample_metrics():
    result = walk_forward("sma_cross", BARS, GRID, processes=1, anchored=True, **WF)
    labels = [str(t) for t in BARS.time]
    for k, report in enumerate(result.windows):
        w = report.window
        assert (w.is_start, w.oos_start, w.oos_stop) == (0, 600 + 300 * k, 900 + 300 * k)
        assert report.labels == {
            "is_first": labels[0], "is_last": labels[w.is_stop - 1],
            "oos_first": labels[w.oos_start], "oos_last": labels[w.oos_stop - 1],
        }  # fmt: skip
        # the chosen point is the in-sample best, and its in-sample metrics are its own
        best = optimise("sma_cross", BARS.prefix(w.is_stop), GRID, processes=1).best
        assert report.params == best.params
        assert report.in_sample == best.metrics
    assert result.oos_labels == tuple(labels[600:1500])


# --- stitching -------------------------------------------------------------------------


def test_carried_position_stays_open_across_boundaries():
    result = walk_forward("wf_holder", BARS, Grid({"level": [1]}), processes=1, quantity=10, **WF)
    oos = BARS.close[600:], BARS.open[600:]
    # bought once at the second out-of-sample open, then only marked: no trade, no gap
    expected = np.r_[1e6, 1e6 + 10 * (oos[0][1:] - oos[1][1])]
    assert np.allclose(result.oos_equity, expected, rtol=0, atol=1e-6)
    assert result.oos_metrics["num_trades"] == 0
    for previous, report in zip(result.windows, result.windows[1:], strict=False):
        lo = report.window.oos_start - 600
        assert previous.out_of_sample["final_equity"] == result.oos_equity[lo - 1]


def test_flattened_boundary_sells_at_the_next_windows_first_open():
    result = walk_forward(
        "wf_holder", BARS, Grid({"level": [1]}), processes=1, quantity=10, boundary="flatten",
        commission_pct=0.1, **WF,
    )  # fmt: skip
    # windows 0 and 1 end flat, each trade closing in the next window; window 2's position
    # is still open at the end of the data
    assert result.oos_metrics["num_trades"] == 2
    assert [r.out_of_sample["num_trades"] for r in result.windows] == [0, 1, 1]
    carried = walk_forward("wf_holder", BARS, Grid({"level": [1]}), processes=1, quantity=10,
                           commission_pct=0.1, **WF)  # fmt: skip
    assert carried.oos_metrics["num_trades"] == 0
    # window 1: the exit at its first open (bar 900) pays 0.1 % of 10 x that open, and the
    # new entry at the next open pays the same on its price
    first = result.windows[1]
    start = result.oos_equity[299]
    o, c = BARS.open, BARS.close
    after_exit = start + 10 * (o[900] - c[899]) - 0.001 * 10 * o[900]
    assert result.oos_equity[300] == pytest.approx(after_exit, abs=1e-6)
    assert first.out_of_sample["total_return"] == pytest.approx(
        result.oos_equity[599] / start - 1, abs=1e-15
    )


def test_window_returns_compound_to_the_stitched_return():
    result = walk_forward("sma_cross", BARS, GRID, processes=1, commission_pct=0.01, **WF)
    growth = math.prod(1 + r.out_of_sample["total_return"] for r in result.windows)
    assert growth - 1 == pytest.approx(result.oos_metrics["total_return"], abs=1e-12)
    assert result.windows[-1].out_of_sample["final_equity"] == result.oos_metrics["final_equity"]
    assert result.oos_equity[0] == 1e6
    assert len(result.oos_equity) == 900
    # per-window Sharpe by hand from the stitched equity (from the previous window's end)
    for report in result.windows[1:]:
        lo, hi = report.window.oos_start - 600, report.window.oos_stop - 600
        equity = result.oos_equity[lo - 1 : hi]
        r = equity[1:] / equity[:-1] - 1
        sharpe = r.mean() / r.std(ddof=1) * math.sqrt(252 * 375)
        assert report.out_of_sample["sharpe"] == pytest.approx(sharpe, rel=1e-9)


# --- degradation -----------------------------------------------------------------------


def test_degradation_by_hand():
    figures = degradation_compute([1.0, 2.0, None], [0.5, -1.0, 3.0])
    assert figures == {
        "windows": 2, "in_sample_mean": 1.5, "out_of_sample_mean": -0.25,
        "difference": -1.75, "ratio": -0.25 / 1.5,
    }  # fmt: skip
    assert degradation_compute([0.0], [1.0])["ratio"] is None
    assert degradation_compute([None], [1.0])["in_sample_mean"] is None
    result = walk_forward("sma_cross", BARS, GRID, processes=1, **WF)
    sharpe = result.degradation["sharpe"]
    mean_is = np.mean([r.in_sample["sharpe"] for r in result.windows])
    mean_oos = np.mean([r.out_of_sample["sharpe"] for r in result.windows])
    assert sharpe["in_sample_mean"] == pytest.approx(mean_is, rel=1e-12)
    assert sharpe["out_of_sample_mean"] == pytest.approx(mean_oos, rel=1e-12)
    assert sharpe["ratio"] == pytest.approx(mean_oos / mean_is, rel=1e-12)
    # the in-sample best is chosen on the in-sample bars: it overfits random walks
    assert sharpe["in_sample_mean"] > sharpe["out_of_sample_mean"]


# --- no peeking, no future ---------------------------------------------------------------


def test_peek_check_catches_a_peeker_and_passes_an_honest_strategy():
    cuts = list(range(100, 1500, 37))
    up = BARS.close[1:] > BARS.close[:-1]
    assert peek_check(Peeker(), BARS, cuts) == [t for t in cuts if t + 1 < 1500 and up[t]]
    assert peek_check(strategy_make("sma_cross", {"fast": 3, "slow": 10}), BARS, cuts) == []


def test_a_peeking_strategy_fails_the_walk_forward():
    with pytest.raises(StrategyError, match=r"wf_peeker \{'lag': 1\} peeks: its target at bar \d+"):
        walk_forward("wf_peeker", BARS, Grid({"lag": [1, 2]}), processes=1, **WF)
    # an honest one of the same shape passes
    assert walk_forward("wf_holder", BARS, Grid({"level": [0, 1]}), processes=1, **WF).windows


def _altered_after(cut: int) -> Bars:
    rng = np.random.default_rng(0)
    scale = np.ones(len(BARS))
    scale[cut:] = rng.uniform(0.5, 1.5, len(BARS) - cut)
    return Bars(
        time=BARS.time, open=BARS.open * scale, high=BARS.high * scale * 1.01,
        low=BARS.low * scale * 0.99, close=BARS.close * scale, volume=BARS.volume,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "space"),
    [("sma_cross", GRID), ("wf_end_peeker", Grid({"lag": [1, 2]}))],
)
def test_bars_after_a_window_do_not_change_its_out_of_sample_equity(monkeypatch, name, space):
    # The end-peeker sees every bar it is given, so with the peek check switched off it
    # shows that the slicing alone keeps each window from the bars after it.
    if name == "wf_end_peeker":
        monkeypatch.setattr("strategies.walkforward.peek_check", lambda *args: [])
    base = walk_forward(name, BARS, space, processes=1, commission_pct=0.01, **WF)
    cut = base.windows[1].window.oos_stop  # bar 1200
    changed = walk_forward(name, _altered_after(cut), space, processes=1, commission_pct=0.01, **WF)
    upto = cut - 600
    assert np.array_equal(changed.oos_equity[:upto], base.oos_equity[:upto])
    assert changed.windows[:2] == base.windows[:2]
    assert not np.array_equal(changed.oos_equity[upto:], base.oos_equity[upto:])


def test_a_learning_strategy_is_fitted_on_in_sample_bars_only():
    Learner.fits.clear()
    result = walk_forward("wf_learner", BARS, Grid({"k": [0, 1]}), processes=1, **WF)
    for report in result.windows:
        w = report.window
        window_fits = [
            f for f in Learner.fits if f == (BARS.time[w.is_start], BARS.time[w.is_stop - 1])
        ]
        assert len(window_fits) == 3  # each point in-sample, then the chosen one
    assert len(Learner.fits) == 9
    assert all(last < BARS.time[600 + 300 * (k // 3)] for k, (_, last) in enumerate(Learner.fits))


# --- the command -----------------------------------------------------------------------


@pytest.fixture
def bars_csv(tmp_path):
    ist = (BARS.time + np.timedelta64(330, "m")).astype("datetime64[s]").astype(str)
    path = tmp_path / "BARS.csv"
    columns = (BARS.open, BARS.high, BARS.low, BARS.close, BARS.volume)
    rows = zip(ist, *(column.tolist() for column in columns), strict=True)
    path.write_text(
        "date,open,high,low,close,volume\n"
        + "".join(f"{d}+05:30,{o!r},{h!r},{lo!r},{c!r},{v!r}\n" for d, o, h, lo, c, v in rows)
    )
    return path


def test_command_end_to_end(bars_csv, tmp_path):
    out = tmp_path / "wf"
    call_command(
        "walkforward", "sma_cross", "--bars", str(bars_csv), "--grid", "fast=3,5,8,20",
        "--grid", "slow=10,20,40", "--windows", "3", "--in-sample", "600",
        "--out-of-sample", "300", "--processes", "2", "--quantity", "5",
        "--commission-pct", "0.01", "--out", str(out),
    )  # fmt: skip
    expected = walk_forward(
        "sma_cross", BARS, Grid({"fast": [3, 5, 8, 20], "slow": [10, 20, 40]}), processes=1,
        quantity=5, commission_pct=0.01, **WF,
    )  # fmt: skip
    with (out / "windows.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 3
    for row, report in zip(rows, expected.windows, strict=True):
        assert int(row["oos_first"]) == report.window.oos_start
        assert int(row["oos_last"]) == report.window.oos_stop - 1
        assert row["oos_first_date"].endswith("+05:30")
        assert json.loads(row["params"]) == report.params
        assert float(row["is_sharpe"]) == report.in_sample["sharpe"]
        assert float(row["oos_final_equity"]) == report.out_of_sample["final_equity"]
    with (out / "oos_equity.csv").open() as file:
        equity = list(csv.DictReader(file))
    assert len(equity) == 900
    assert [float(r["equity"]) for r in equity] == expected.oos_equity.tolist()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["out_of_sample"]["final_equity"] == expected.oos_metrics["final_equity"]
    assert summary["degradation"]["sharpe"] == expected.degradation["sharpe"]
    assert len(summary["skipped"]) == 2  # fast 20 with slow 10 and with slow 20
    assert summary["points"] == 10


def test_command_random_search(bars_csv, tmp_path):
    out = tmp_path / "random"
    call_command(
        "walkforward", "sma_cross", "--bars", str(bars_csv), "--random", "fast=2:10",
        "--random", "slow=5:40", "--samples", "6", "--seed", "3", "--windows", "2",
        "--out-of-sample", "300", "--processes", "1", "--anchored", "--out", str(out),
    )  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    assert summary["anchored"] is True
    assert summary["windows"] == 2
    assert summary["points"] + len(summary["skipped"]) == 6


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--grid", "speed=1,2"], "no parameter speed"),
        (["--grid", "fast="], "no values for fast"),
        ([], "give the space"),
        (["--random", "fast=2:9"], "--samples"),
        (["--grid", "fast=3", "--windows", "9", "--in-sample", "600"], "need"),
        (["--grid", "fast=40", "--grid", "slow=10"], "no valid point"),
    ],
)
def test_command_errors_name_the_problem(bars_csv, tmp_path, argv, message):
    with pytest.raises(CommandError, match=message):
        call_command(
            "walkforward", "sma_cross", "--bars", str(bars_csv), "--out-of-sample", "300",
            "--windows", "2", "--processes", "1", "--out", str(tmp_path / "x"), *argv,
        )  # fmt: skip
    assert not (tmp_path / "x").exists()


def test_ml_beta_walks_forward_fitted_per_window_and_never_peeks():
    result = walk_forward(
        "ml_beta", BARS, Grid({"threshold": [0.5, 0.52], "lags": [2, 5]}), processes=2, **WF
    )
    assert len(result.windows) == 3
    assert all(r.params["threshold"] in (0.5, 0.52) for r in result.windows)
    assert any(r.out_of_sample["exposure"] > 0 for r in result.windows), "it never traded"


def test_a_two_leg_strategy_walks_forward_on_a_tuple_of_bars():
    partner = partner_of(BARS)
    result = walk_forward(
        "pairs", (BARS, partner), Grid({"lookback": [60, 90], "entry": [1.5, 2.0]}),
        processes=1, **WF,
    )  # fmt: skip
    assert len(result.oos_equity) == 900
    assert result.oos_metrics["num_trades"] == sum(
        r.out_of_sample["num_trades"] for r in result.windows
    )
    assert result.oos_metrics["num_trades"] > 0


def test_spawned_workers_give_the_same_ranking(monkeypatch):
    import multiprocessing

    monkeypatch.setattr(
        "strategies.walkforward._context", lambda: multiprocessing.get_context("spawn")
    )
    spawned = optimise("sma_cross", BARS, GRID, processes=2)
    assert spawned.ranked == optimise("sma_cross", BARS, GRID, processes=1).ranked
