"""The options the ``backtest`` and ``walkforward`` commands share: the bars they read and
the engine's settings (``strategies.engine.backtest``'s keywords)."""

from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser


def engine_arguments(parser: CommandParser) -> None:
    """``--bars`` (once per leg) and the engine's options."""
    parser.add_argument(
        "--bars", action="append", required=True, type=Path, metavar="FILE.csv",
        help="bars of date,open,high,low,close,volume; once per leg of a multi-leg strategy",
    )  # fmt: skip
    parser.add_argument("--quantity", type=int, default=1, help="shares per unit of target")
    parser.add_argument("--cash", type=float, default=1_000_000.0)
    parser.add_argument("--commission-pct", type=float, default=0.0, help="%% of fill value")
    parser.add_argument("--slippage-bps", type=float, default=0.0, help="against the trader")
    parser.add_argument("--shorts", action="store_true", help="allow targets of -1")
    parser.add_argument(
        "--periods-per-year", type=float, default=None,
        help="bars a year for CAGR, Sharpe and Sortino (default: from the bars' spacing)",
    )  # fmt: skip


def engine_options(options: dict[str, Any]) -> dict[str, Any]:
    """The engine's keywords from the parsed options."""
    return {
        name: options[name]
        for name in ("quantity", "cash", "commission_pct", "slippage_bps", "shorts",
                     "periods_per_year")
    }  # fmt: skip
