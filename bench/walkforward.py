"""Walk-forward speed: a 50-point SMA-cross grid (fast x slow) over 5 windows on the 1
million generated one-minute bars of ``bench.backtest``, in 2 processes and in 1.

    .venv/bin/python -m bench.walkforward [--quick] [--bars N] [--processes N] [--json PATH]

- The bars are ``bench.backtest.bars_generate`` (the same seed and walk), in memory.
- The grid is fast 5, 10, 15, 20, 25 x slow 30, 40, ..., 120: 50 valid points.
- Windows: rolling, 5 of them, the defaults of ``strategies.walkforward.windows_make``
  (out-of-sample n // 9 bars, in-sample four times that), so 250 in-sample backtests of
  444 thousand bars each, plus per window the chosen strategy's out-of-sample targets, its
  peek check (24 cuts or so, each recomputing the targets over a prefix) and the
  stitched out-of-sample run.
- The baseline in the same run is one process; the goal (issue 14) is under 60 s.
"""

import argparse
import os
import platform
import time
from pathlib import Path

from bench import harness
from bench.backtest import COMMISSION_PCT, QUANTITY, bars_generate
from strategies.walkforward import Grid, walk_forward

FASTS = [5, 10, 15, 20, 25]
SLOWS = list(range(30, 121, 10))
WINDOWS = 5


def run(bars, processes: int) -> dict:
    grid = Grid({"fast": FASTS, "slow": SLOWS})
    started = time.perf_counter()
    result = walk_forward(
        "sma_cross", bars, grid, windows=WINDOWS, processes=processes,
        quantity=QUANTITY, commission_pct=COMMISSION_PCT,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    first = result.windows[0].window
    return {
        "processes": processes,
        "seconds": seconds,
        "points": result.windows[0].points,
        "windows": len(result.windows),
        "in_sample_bars": first.is_stop - first.is_start,
        "out_of_sample_bars": first.oos_stop - first.oos_start,
        "in_sample_backtests": result.windows[0].points * len(result.windows),
        "chosen": [report.params for report in result.windows],
        "oos_final_equity": result.oos_metrics["final_equity"],
        "degradation_sharpe": result.degradation["sharpe"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k bars")
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.quick:
        args.bars = 100_000
    started = time.perf_counter()
    bars = bars_generate(args.bars)
    print(f"generated {len(bars):,} bars in {time.perf_counter() - started:.2f} s", flush=True)
    runs = []
    for processes in (args.processes, 1):
        measured = run(bars, processes)
        runs.append(measured)
        rate = measured["in_sample_backtests"] * measured["in_sample_bars"] / measured["seconds"]
        print(
            f"walk-forward, {measured['points']} points x {measured['windows']} windows "
            f"(in-sample {measured['in_sample_bars']:,} bars, out-of-sample "
            f"{measured['out_of_sample_bars']:,}), {processes} process(es): "
            f"{measured['seconds']:.2f} s = "
            f"{rate:,.0f} in-sample bars/s",
            flush=True,
        )
    if runs[0]["chosen"] != runs[1]["chosen"] or (
        runs[0]["oos_final_equity"] != runs[1]["oos_final_equity"]
    ):
        raise SystemExit("the runs in several processes and in one disagree")
    print(
        f"chosen per window: {runs[0]['chosen']}; out-of-sample final equity "
        f"{runs[0]['oos_final_equity']!r}; sharpe in-sample mean "
        f"{runs[0]['degradation_sharpe']['in_sample_mean']:.2f}, out-of-sample mean "
        f"{runs[0]['degradation_sharpe']['out_of_sample_mean']:.2f}; speed-up "
        f"{runs[1]['seconds'] / runs[0]['seconds']:.2f}x; goal under 60 s: "
        f"{'met' if runs[0]['seconds'] < 60 else 'NOT met'}"
    )
    harness.write_json(
        args.json,
        {
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
            "bars": len(bars),
            "runs": runs,
        },
    )


if __name__ == "__main__":
    main()
