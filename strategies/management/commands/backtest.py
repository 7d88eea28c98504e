"""Backtest one strategy on bars from CSV and write its trades, equity and summary.

    python manage.py backtest sma_cross --bars INFY.csv --param fast=10 --param slow=30 \\
        --quantity 10 --cash 1000000 --commission-pct 0 --fill next_open --out DIR

Writes DIR/trades.csv (closed trades only), DIR/equity.csv (one row per input bar) and
DIR/summary.json. Dates are echoed as the input wrote them and floats are written at full
precision (their repr). It needs no database rows, network or service.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from strategies.bars import bars_read_csv
from strategies.base import BacktestResult, Bars, StrategyError, strategy_make
from strategies.costs import indian_costs
from strategies.engine import backtest
from strategies.management.engine_options import engine_arguments, engine_options

SUMMARY_KEYS = (
    "num_trades", "total_pnl", "final_equity", "max_drawdown_pct", "total_return", "cagr",
    "sharpe", "sortino", "profit_factor", "win_rate",
)  # fmt: skip


def _param(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise CommandError(f"--param {text!r}: expected NAME=VALUE")
    return name.strip(), value.strip()


def _number(value: float | int) -> float | int:
    """An integral quantity as an int, anything else as the float it is."""
    return int(value) if float(value).is_integer() else float(value)


class Command(BaseCommand):
    help = "Backtest a strategy on CSV bars (date,open,high,low,close,volume)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("strategy", help="a strategy's name, e.g. sma_cross")
        engine_arguments(parser)
        parser.add_argument(
            "--param", action="append", default=[], metavar="NAME=VALUE",
            help="a strategy parameter (repeat for each)",
        )  # fmt: skip
        parser.add_argument(
            "--charges", choices=["none", "CNC", "MIS", "NRML"], default="none",
            help="add the Indian charges of orders.charges for this product",
        )  # fmt: skip
        parser.add_argument("--plan", default="DISCOUNT", help="brokerage plan for --charges")
        parser.add_argument(
            "--fill", choices=["next_open"], default="next_open",
            help="when a target fills: at the next bar's open (the only mode)",
        )  # fmt: skip
        parser.add_argument("--out", type=Path, required=True, metavar="DIR")

    def handle(self, *args: Any, **options: Any) -> None:
        params = dict(_param(text) for text in options["param"])
        try:
            strategy = strategy_make(options["strategy"], params)
            started = time.perf_counter()
            legs = tuple(bars_read_csv(path) for path in options["bars"])
            if len(legs) != strategy.legs:
                raise StrategyError(
                    f"{strategy.name} trades {strategy.legs} leg(s): give --bars "
                    f"{strategy.legs} time(s), not {len(legs)}"
                )
            self.stderr.write(
                f"read {len(legs[0]):,} bars x {len(legs)} in {time.perf_counter() - started:.2f} s"
            )
            started = time.perf_counter()
            costs = None if options["charges"] == "none" else indian_costs(
                options["charges"], plan_code=options["plan"]
            )  # fmt: skip
            result = backtest(
                strategy, legs[0] if len(legs) == 1 else legs,
                costs=costs, **engine_options(options),
            )  # fmt: skip
        except StrategyError as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write(
            f"backtested {strategy.name} {strategy.values} in "
            f"{time.perf_counter() - started:.2f} s: {len(result.trades)} closed trades"
        )
        out: Path = options["out"]
        out.mkdir(parents=True, exist_ok=True)
        _write_trades(out / "trades.csv", result, legs)
        _write_equity(out / "equity.csv", result, legs[0])
        summary = {key: result.metrics[key] for key in SUMMARY_KEYS}
        summary["open_position"] = result.open_position
        summary.update(
            strategy=strategy.name, params=strategy.values, bars=len(legs[0]),
            exposure=result.metrics["exposure"],
            periods_per_year=result.metrics["periods_per_year"],
        )  # fmt: skip
        # json writes a float as its repr: full precision, and None (never NaN) as null.
        (out / "summary.json").write_text(
            json.dumps(summary, indent=2, allow_nan=False) + "\n", encoding="utf-8"
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"{summary['num_trades']} trades, total pnl {summary['total_pnl']!r}, "
                f"final equity {summary['final_equity']!r}; wrote {out}/trades.csv, "
                "equity.csv, summary.json"
            )
        )


def _label(bars: Bars, i: int) -> str:
    return bars.labels[i] if bars.labels else str(bars.time[i])


def _write_trades(path: Path, result: BacktestResult, legs: tuple[Bars, ...]) -> None:
    header = ["entry_date", "entry_price", "exit_date", "exit_price", "quantity", "pnl"]
    if len(legs) > 1:
        header.append("symbol")
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(header)
        for trade in result.trades:
            bars = legs[trade.leg]
            row = [
                _label(bars, trade.entry_index), repr(trade.entry_price),
                _label(bars, trade.exit_index), repr(trade.exit_price),
                repr(_number(trade.quantity)), repr(trade.pnl),
            ]  # fmt: skip
            if len(legs) > 1:
                row.append(bars.symbol)
            writer.writerow(row)


def _write_equity(path: Path, result: BacktestResult, bars: Bars) -> None:
    labels = bars.labels or tuple(str(t) for t in bars.time)
    with path.open("w", encoding="utf-8") as file:
        file.write("date,equity\n")
        file.writelines(
            f"{label},{value!r}\n"
            for label, value in zip(labels, result.equity.tolist(), strict=True)
        )
