"""Walk a strategy forward over bars from CSV: optimise in-sample, trade out-of-sample.

    python manage.py walkforward sma_cross --bars INFY.csv \\
        --grid fast=5,10,20 --grid slow=30,60 --windows 5 --in-sample 2000 \\
        --out-of-sample 500 [--anchored] --objective sharpe --processes 2 \\
        --quantity 10 --cash 1000000 --commission-pct 0.03 --out DIR

or ``--random fast=2:30 --random slow=20:200 --samples 50 --seed 7`` instead of the grid.
Writes DIR/windows.csv (per window: bounds, chosen params, in-sample and out-of-sample
metrics), DIR/oos_equity.csv (date,equity per out-of-sample bar, stitched) and
DIR/summary.json (stitched out-of-sample metrics, degradation, skipped points). Needs no
database rows, network or service. docs/strategies.md, "Walk-forward and optimisation".
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from strategies.bars import bars_read_csv
from strategies.base import StrategyError, strategy_make
from strategies.management.engine_options import engine_arguments, engine_options
from strategies.walkforward import (
    BOUNDARIES,
    OBJECTIVES,
    WalkForward,
    space_parse,
    walk_forward,
)

METRICS = (
    "num_trades", "total_pnl", "final_equity", "total_return", "cagr", "sharpe", "sortino",
    "max_drawdown_pct", "profit_factor", "win_rate", "exposure",
)  # fmt: skip


def _cell(value: Any) -> str:
    # Full precision (repr); an undefined ratio is an empty cell.
    return "" if value is None else repr(value)


class Command(BaseCommand):
    help = "Walk-forward optimisation of a strategy on CSV bars."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("strategy", help="a strategy's name, e.g. sma_cross")
        engine_arguments(parser)
        parser.add_argument(
            "--grid", action="append", default=[], metavar="NAME=v1,v2,...",
            help="a parameter's values to try (repeat per parameter; every combination)",
        )  # fmt: skip
        parser.add_argument(
            "--random", action="append", default=[], metavar="NAME=LOW:HIGH",
            help="a parameter's range for random search (repeat per parameter)",
        )  # fmt: skip
        parser.add_argument("--samples", type=int, help="points drawn by --random")
        parser.add_argument("--seed", type=int, default=0, help="seed of --random")
        parser.add_argument("--windows", type=int, default=5)
        parser.add_argument("--in-sample", type=int, metavar="BARS")
        parser.add_argument("--out-of-sample", type=int, metavar="BARS")
        parser.add_argument("--anchored", action="store_true", help="in-sample grows from bar 0")
        parser.add_argument("--boundary", choices=BOUNDARIES, default="carry")
        parser.add_argument("--objective", choices=OBJECTIVES, default="sharpe")
        parser.add_argument("--processes", type=int, default=2)
        parser.add_argument("--out", type=Path, required=True, metavar="DIR")

    def handle(self, *args: Any, **options: Any) -> None:
        if bool(options["grid"]) == bool(options["random"]):
            raise CommandError("give the space as --grid NAME=v1,v2,... or --random NAME=LOW:HIGH")
        for text in options["grid"]:
            if ":" in text.partition("=")[2]:
                raise CommandError(
                    f"--grid {text!r}: expected NAME=v1,v2,... (LOW:HIGH is --random)"
                )
        for text in options["random"]:
            if ":" not in text.partition("=")[2]:
                raise CommandError(f"--random {text!r}: expected NAME=LOW:HIGH")
        if options["random"] and options["samples"] is None:
            raise CommandError("--random needs --samples N")
        try:
            space = space_parse(
                options["grid"] or options["random"],
                samples=options["samples"] if options["random"] else None, seed=options["seed"],
            )  # fmt: skip
            strategy = strategy_make(options["strategy"])
            legs = tuple(bars_read_csv(path) for path in options["bars"])
            if len(legs) != strategy.legs:
                raise StrategyError(
                    f"{strategy.name} trades {strategy.legs} leg(s): give --bars "
                    f"{strategy.legs} time(s), not {len(legs)}"
                )
            started = time.perf_counter()
            result = walk_forward(
                strategy.name, legs[0] if len(legs) == 1 else legs, space,
                windows=options["windows"], in_sample=options["in_sample"],
                out_of_sample=options["out_of_sample"], anchored=options["anchored"],
                objective=options["objective"], processes=options["processes"],
                boundary=options["boundary"], **engine_options(options),
            )  # fmt: skip
        except StrategyError as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write(
            f"walked {strategy.name} forward over {len(result.windows)} windows of "
            f"{result.windows[0].points} points in {time.perf_counter() - started:.2f} s"
        )
        out: Path = options["out"]
        out.mkdir(parents=True, exist_ok=True)
        _write_windows(out / "windows.csv", result)
        with (out / "oos_equity.csv").open("w", encoding="utf-8") as file:
            file.write("date,equity\n")
            file.writelines(
                f"{label},{value!r}\n"
                for label, value in zip(result.oos_labels, result.oos_equity.tolist(), strict=True)
            )
        summary = {
            "strategy": result.strategy,
            "objective": result.objective,
            "anchored": result.anchored,
            "boundary": result.boundary,
            "windows": len(result.windows),
            "points": result.windows[0].points,
            "out_of_sample": {key: result.oos_metrics[key] for key in METRICS},
            "out_of_sample_first": result.oos_labels[0],
            "out_of_sample_last": result.oos_labels[-1],
            "degradation": result.degradation,
            "skipped": [{"params": p, "reason": why} for p, why in result.skipped],
        }
        (out / "summary.json").write_text(
            json.dumps(summary, indent=2, allow_nan=False) + "\n", encoding="utf-8"
        )
        oos = result.degradation[result.objective]
        self.stdout.write(
            self.style.SUCCESS(
                f"out-of-sample final equity {result.oos_metrics['final_equity']!r}; "
                f"{result.objective} in-sample mean {oos['in_sample_mean']!r}, out-of-sample "
                f"mean {oos['out_of_sample_mean']!r}; wrote {out}/windows.csv, "
                "oos_equity.csv, summary.json"
            )
        )


def _write_windows(path: Path, result: WalkForward) -> None:
    header = [
        "window", "is_first", "is_last", "is_first_date", "is_last_date",
        "oos_first", "oos_last", "oos_first_date", "oos_last_date", "params",
        *(f"is_{key}" for key in METRICS), *(f"oos_{key}" for key in METRICS),
    ]  # fmt: skip
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(header)
        for report in result.windows:
            w = report.window
            row = [
                w.index, w.is_start, w.is_stop - 1, report.labels["is_first"],
                report.labels["is_last"], w.oos_start, w.oos_stop - 1,
                report.labels["oos_first"], report.labels["oos_last"],
                json.dumps(report.params, sort_keys=True),
                *(_cell(report.in_sample.get(key)) for key in METRICS),
                *(_cell(report.out_of_sample.get(key)) for key in METRICS),
            ]  # fmt: skip
            writer.writerow(row)
