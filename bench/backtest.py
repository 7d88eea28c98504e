"""Backtest speed: the SMA(10/30) cross on 1 million generated one-minute bars, fills at the
next open, against backtrader (and vectorbt when it is installed) in the same run.

    .venv/bin/python -m bench.backtest [--quick] [--bars N] [--backtrader-bars N] [--json PATH]

- The bars are a random walk on the 0.05 tick grid, written to a CSV file first; reading
  it with ``strategies.bars.bars_read_csv`` is timed and reported apart.
- Ours, with the bars in memory: the first call (cold: imports done, caches cold) and the
  best of ``--repeat`` warm calls, each as the whole run (TA-Lib SMAs, the cross, the
  engine and the metrics) and as the engine alone (``backtest_targets`` on the targets).
  The rule is the catalogue's ``sma_cross`` when it is registered, else this script's own
  (the same cross, TA-Lib SMA; the output says which).
- backtrader runs its own SMA and CrossOver at about 10 thousand bars a second, so it runs
  on the first ``--backtrader-bars`` (100 thousand) bars only; bars per second are over
  that slice. Its trades are compared with ours on the same slice (a run of ours on it),
  and bars where the two SMAs are within 1e-9 of a tie are counted: the only bars where
  the two may differ.
- vectorbt is not a requirement of the project; it runs only when importable (its first
  call, which compiles, and a warm one), otherwise the output says it is not installed.
"""

import argparse
import importlib.util
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import talib

from bench import harness
from strategies.bars import bars_read_csv
from strategies.base import STRATEGIES, Bars, Strategy, StrategyError, strategy_make
from strategies.engine import backtest, backtest_targets

FAST, SLOW = 10, 30
QUANTITY = 10
COMMISSION_PCT = 0.03
CASH = 1_000_000.0


def bars_generate(n: int, seed: int = 14) -> Bars:
    """n one-minute bars from 2020-01-01 09:15 IST, as one continuous series."""
    rng = np.random.default_rng(seed)
    tick = 0.05
    close = np.round(1000 + np.cumsum(rng.integers(-6, 7, n)) * tick, 2)
    close = np.maximum(close, 100.0)
    opens = np.maximum(np.round(np.r_[close[0], close[:-1]] + rng.integers(-2, 3, n) * tick, 2), 1)
    high = np.round(np.maximum(opens, close) + rng.integers(0, 4, n) * tick, 2)
    low = np.round(np.minimum(opens, close) - rng.integers(0, 4, n) * tick, 2)
    time_ = np.datetime64("2020-01-01T03:45", "us") + np.arange(n) * np.timedelta64(1, "m")
    return Bars(
        time=time_, open=opens, high=high, low=low, close=close,
        volume=rng.integers(1, 5000, n).astype(np.float64), symbol="BENCH",
    )  # fmt: skip


def csv_write(bars: Bars, path: Path) -> None:
    ist = (bars.time + np.timedelta64(330, "m")).astype("datetime64[s]").astype(str)
    with path.open("w") as file:
        file.write("date,open,high,low,close,volume\n")
        file.writelines(
            f"{d}+05:30,{o:.2f},{h:.2f},{lo:.2f},{c:.2f},{v:.0f}\n"
            for d, o, h, lo, c, v in zip(
                ist, bars.open, bars.high, bars.low, bars.close, bars.volume, strict=True
            )
        )


class BenchSmaCross(Strategy):
    """The SMA cross of issue 14, vectorised here when the catalogue is not there."""

    name = "bench_sma_cross"
    title = "SMA cross (the benchmark's own)"

    def targets(self, bars: Bars) -> np.ndarray:
        diff = talib.SMA(bars.close, FAST) - talib.SMA(bars.close, SLOW)
        n = len(diff)
        up = np.zeros(n, dtype=bool)
        down = np.zeros(n, dtype=bool)
        with np.errstate(invalid="ignore"):
            up[1:] = (diff[1:] > 0) & (diff[:-1] <= 0)
            down[1:] = (diff[1:] < 0) & (diff[:-1] >= 0)
        last = np.where(up | down, np.arange(n), 0)
        np.maximum.accumulate(last, out=last)
        return up[last].astype(np.float64)  # bar 0 is never an event: flat until one


def strategy_pick() -> tuple[Strategy, str]:
    try:
        return strategy_make("sma_cross", {"fast": FAST, "slow": SLOW}), "catalogue sma_cross"
    except (ImportError, StrategyError):
        STRATEGIES.setdefault(BenchSmaCross.name, BenchSmaCross)
        return BenchSmaCross(), "bench's own SMA cross (the catalogue has no sma_cross)"


def ours(strategy: Strategy, bars: Bars, repeat: int) -> dict:
    def run_all():
        return backtest(strategy, bars, quantity=QUANTITY, cash=CASH, commission_pct=COMMISSION_PCT)

    started = time.perf_counter()
    result = run_all()
    first = time.perf_counter() - started
    targets = strategy.targets(bars)
    warm, engine = [], []
    # Interleaved, best of each: the machine is shared, so a burst of other work hits both.
    for _ in range(repeat):
        started = time.perf_counter()
        run_all()
        warm.append(time.perf_counter() - started)
        started = time.perf_counter()
        backtest_targets(targets, bars, quantity=QUANTITY, cash=CASH, commission_pct=COMMISSION_PCT)
        engine.append(time.perf_counter() - started)
    n = len(bars)
    return {
        "bars": n,
        "trades": len(result.trades),
        "first_call_s": first,
        "warm_s": min(warm),
        "engine_s": min(engine),
        "bars_per_s_first_call": n / first,
        "bars_per_s_warm": n / min(warm),
        "bars_per_s_engine": n / min(engine),
        "final_equity": float(result.equity[-1]),
    }


def backtrader_run(bars: Bars) -> tuple[dict, list[tuple]]:
    import backtrader as bt
    import pandas as pd

    class SmaCross(bt.Strategy):
        def __init__(self):
            fast = bt.ind.SMA(self.data.close, period=FAST)
            slow = bt.ind.SMA(self.data.close, period=SLOW)
            self.cross = bt.ind.CrossOver(fast, slow)
            self.fills = []

        def notify_order(self, order):
            if order.status == order.Completed:
                self.fills.append((len(self) - 1, order.executed.price, order.executed.comm))

        def next(self):
            if not self.position and self.cross[0] > 0:
                self.buy(size=QUANTITY)
            elif self.position and self.cross[0] < 0:
                self.close()

    frame = pd.DataFrame(
        {"open": bars.open, "high": bars.high, "low": bars.low, "close": bars.close,
         "volume": bars.volume},
        index=pd.DatetimeIndex(bars.time),
    )  # fmt: skip
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame, timeframe=bt.TimeFrame.Minutes))
    cerebro.addstrategy(SmaCross)
    cerebro.broker.setcash(CASH)
    cerebro.broker.setcommission(commission=COMMISSION_PCT / 100)
    started = time.perf_counter()
    [strategy] = cerebro.run()
    seconds = time.perf_counter() - started
    fills = strategy.fills
    trades = [
        (b[0], b[1], s[0], s[1], (s[1] - b[1]) * QUANTITY - b[2] - s[2])
        for b, s in zip(fills[0::2], fills[1::2], strict=False)
    ]
    return {
        "bars": len(bars),
        "seconds": seconds,
        "bars_per_s": len(bars) / seconds,
        "trades": len(trades),
        "final_value": cerebro.broker.getvalue(),
        "version": bt.__version__,
    }, trades


def trades_compare(strategy: Strategy, bars: Bars, theirs: list[tuple]) -> dict:
    result = backtest(strategy, bars, quantity=QUANTITY, cash=CASH, commission_pct=COMMISSION_PCT)
    mine = [
        (t.entry_index, t.entry_price, t.exit_index, t.exit_price, t.pnl) for t in result.trades
    ]
    diff = talib.SMA(bars.close, FAST) - talib.SMA(bars.close, SLOW)
    tie = np.zeros(len(diff) + 1, dtype=np.int64)
    tie[1:] = np.cumsum(np.abs(np.nan_to_num(diff, nan=1.0)) < 1e-9)

    def key(trade: tuple) -> tuple:
        return trade[:4]

    pnl_of = {key(t): t[4] for t in theirs}
    only_ours = [t for t in mine if key(t) not in pnl_of]
    only_theirs = sorted(set(map(key, theirs)) - set(map(key, mine)))
    pnl_differs = [t for t in mine if key(t) in pnl_of and abs(t[4] - pnl_of[key(t)]) > 1e-9]

    def near_tie(trade: tuple) -> bool:
        # A tie on any bar from the one before the entry's signal to the exit's signal.
        low, high = max(trade[0] - 2, 0), trade[2]
        return bool(tie[high] - tie[low] > 0)

    differing = only_ours + [(*t, None) for t in only_theirs]
    return {
        "ours": len(mine),
        "backtrader": len(theirs),
        "identical": not differing and not pnl_differs,
        "common": len(mine) - len(only_ours),
        "only_ours": len(only_ours),
        "only_backtrader": len(only_theirs),
        "pnl_differs": len(pnl_differs),
        "differing_at_a_tie": sum(near_tie(t) for t in differing),
        # The base rate: how many of the identical trades span a tie all the same.
        "identical_at_a_tie": sum(near_tie(t) for t in mine if key(t) in pnl_of),
        "differing_not_at_a_tie": [list(t[:4]) for t in differing if not near_tie(t)][:5],
        "sma_ties_within_1e-9": int(tie[-1]),
    }


def vectorbt_run(bars: Bars) -> dict:
    if importlib.util.find_spec("vectorbt") is None:
        return {"status": "not installed (pip install vectorbt to compare; not a requirement)"}
    import pandas as pd
    import vectorbt as vbt

    close = pd.Series(bars.close)
    opens = pd.Series(bars.open)

    def run():
        fast = vbt.MA.run(close, FAST)
        slow = vbt.MA.run(close, SLOW)
        entries = fast.ma_crossed_above(slow)
        exits = fast.ma_crossed_below(slow)
        # Decided at the close, filled at the next bar's open.
        return vbt.Portfolio.from_signals(
            close, entries.shift(1, fill_value=False), exits.shift(1, fill_value=False),
            price=opens, size=QUANTITY, fees=COMMISSION_PCT / 100, init_cash=CASH,
        )  # fmt: skip

    started = time.perf_counter()
    portfolio = run()
    first = time.perf_counter() - started
    started = time.perf_counter()
    run()
    warm = time.perf_counter() - started
    return {
        "status": "ran",
        "version": vbt.__version__,
        "first_call_s": first,
        "warm_s": warm,
        "bars_per_s_first_call": len(bars) / first,
        "bars_per_s_warm": len(bars) / warm,
        "trades": int(portfolio.trades.count()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k bars, backtrader on 20k")
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--backtrader-bars", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.quick:
        args.bars, args.backtrader_bars = 100_000, 20_000

    generated = bars_generate(args.bars)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "bars.csv"
        csv_write(generated, path)
        size = path.stat().st_size
        started = time.perf_counter()
        bars = bars_read_csv(path)
        load = time.perf_counter() - started
    if not np.array_equal(bars.close, generated.close):
        raise SystemExit("the CSV did not read back to the generated closes")
    print(f"CSV load: {len(bars):,} bars ({size / 1e6:.1f} MB) in {load:.2f} s", flush=True)

    strategy, rule = strategy_pick()
    mine = ours(strategy, bars, args.repeat)
    print(
        f"ours ({rule}): {mine['trades']:,} trades; first call {mine['first_call_s']:.3f} s "
        f"= {mine['bars_per_s_first_call']:,.0f} bars/s; warm {mine['warm_s']:.3f} s "
        f"= {mine['bars_per_s_warm']:,.0f} bars/s; engine alone {mine['engine_s']:.4f} s "
        f"= {mine['bars_per_s_engine']:,.0f} bars/s",
        flush=True,
    )

    sliced = bars.prefix(min(args.backtrader_bars, len(bars)))
    peer, theirs = backtrader_run(sliced)
    print(
        f"backtrader {peer['version']} on the first {peer['bars']:,} bars: {peer['seconds']:.1f} s "
        f"= {peer['bars_per_s']:,.0f} bars/s",
        flush=True,
    )
    compared = trades_compare(strategy, sliced, theirs)
    print(
        f"trades on those {peer['bars']:,} bars: ours {compared['ours']}, backtrader "
        f"{compared['backtrader']}, {compared['common']} identical, only ours "
        f"{compared['only_ours']}, only backtrader {compared['only_backtrader']}, pnl differs "
        f"{compared['pnl_differs']}; of the differing, {compared['differing_at_a_tie']} span "
        f"an SMA tie (|fast - slow| < 1e-9 on {compared['sma_ties_within_1e-9']} bars; "
        f"{compared['identical_at_a_tie']} of the identical do), "
        f"not at a tie: {compared['differing_not_at_a_tie'] or 'none'}",
        flush=True,
    )

    vbt = vectorbt_run(bars)
    if vbt["status"] == "ran":
        print(
            f"vectorbt {vbt['version']}: first call {vbt['bars_per_s_first_call']:,.0f} bars/s, "
            f"warm {vbt['bars_per_s_warm']:,.0f} bars/s"
        )
    else:
        print(f"vectorbt: {vbt['status']}")

    ratios = {
        "ours_first_call_over_backtrader": mine["bars_per_s_first_call"] / peer["bars_per_s"],
        "ours_warm_over_backtrader": mine["bars_per_s_warm"] / peer["bars_per_s"],
    }
    if vbt["status"] == "ran":
        ratios["ours_first_call_over_vectorbt_first_call"] = (
            mine["bars_per_s_first_call"] / vbt["bars_per_s_first_call"]
        )
        ratios["ours_warm_over_vectorbt_warm"] = mine["bars_per_s_warm"] / vbt["bars_per_s_warm"]
    print("ratios: " + ", ".join(f"{key} {value:,.0f}x" for key, value in ratios.items()))
    harness.write_json(
        args.json,
        {
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
            "rule": rule,
            "csv_load": {"bars": len(bars), "bytes": size, "seconds": load},
            "ours": mine,
            "backtrader": peer,
            "trades_compared": compared,
            "vectorbt": vbt,
            "ratios": ratios,
        },
    )


if __name__ == "__main__":
    main()
