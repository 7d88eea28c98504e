"""The backtests CI runs: every registered strategy on bars shipped in the repository, its
summary compared with the stored expectation (docs/strategies.md, "Backtests in CI").

``SHIPPED`` says, for each strategy, which files of ``strategies/data`` it runs on and with
which parameters and options. ``shipped_summary`` runs one through the ``backtest``
command itself (the code path a quant uses) and returns its ``summary.json``;
``expectations_diff`` compares summaries with ``strategies/data/expected.json``, integers
and text exactly and floats to ``RELATIVE`` (so that a change of result shows, and the
last bit of a sum does not). ``manage.py backtest_expectations --write`` refreshes them.
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"
EXPECTED = DATA / "expected.json"
RELATIVE = 1e-9


@dataclass(frozen=True)
class ShippedRun:
    """One strategy's shipped backtest: the bars (one file per leg) and the command's options."""

    bars: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)
    quantity: int = 10
    cash: float = 1_000_000.0
    commission_pct: float = 0.03

    def arguments(self, strategy: str, out: Path) -> list[str]:
        """The ``backtest`` command's arguments for this run, writing into ``out``."""
        args = [strategy]
        for name in self.bars:
            args += ["--bars", str(DATA / name)]
        for name, value in self.params.items():
            args += ["--param", f"{name}={value}"]
        args += [
            "--quantity", str(self.quantity), "--cash", repr(self.cash),
            "--commission-pct", repr(self.commission_pct), "--fill", "next_open",
            "--out", str(out),
        ]  # fmt: skip
        return args


DAILY = ("daily_a.csv",)
PAIR = ("daily_a.csv", "daily_b.csv")  # cointegrated: A = 0.3 + 0.9 log B + AR(1) noise
MINUTE = ("minute.csv",)  # four NSE sessions, 09:15-15:29 IST

#: Every registered strategy must have an entry: the test fails for one that has none.
SHIPPED: dict[str, ShippedRun] = {
    "sma_cross": ShippedRun(DAILY),
    # RSI(14) reaches 30/70 once on these 500 bars; RSI(7) at Wilder's levels trades 8 times.
    "rsi_reversion": ShippedRun(DAILY, {"period": 7}),
    "bollinger_breakout": ShippedRun(DAILY),
    "donchian_breakout": ShippedRun(DAILY),
    "macd_trend": ShippedRun(DAILY),
    "ml_beta": ShippedRun(DAILY),
    "pairs": ShippedRun(PAIR),
    "opening_range_breakout": ShippedRun(MINUTE),
    "vwap_reversion": ShippedRun(MINUTE),
}


def shipped_missing() -> list[str]:
    """Registered strategies without a shipped run (each one a CI failure)."""
    import strategies.catalogue  # noqa: F401  (registers every strategy)
    from strategies.base import STRATEGIES

    return sorted(set(STRATEGIES) - set(SHIPPED))


def shipped_summary(name: str) -> dict[str, Any]:
    """The ``summary.json`` the ``backtest`` command writes for ``name``'s shipped run."""
    from django.core.management import call_command

    run = SHIPPED[name]
    with tempfile.TemporaryDirectory(prefix=f"shipped-{name}-") as folder:
        out = Path(folder)
        call_command("backtest", *run.arguments(name, out), stdout=StringIO(), stderr=StringIO())
        return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def shipped_summaries() -> dict[str, dict[str, Any]]:
    """Every shipped run's summary, by strategy name."""
    return {name: shipped_summary(name) for name in sorted(SHIPPED)}


def expectations_read(path: Path = EXPECTED) -> dict[str, Any]:
    """The stored summaries, by strategy name ({} when the file does not exist yet)."""
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def expectations_write(summaries: dict[str, Any], path: Path = EXPECTED) -> None:
    """Store ``summaries`` (floats as their repr: full precision)."""
    text = json.dumps(summaries, indent=2, sort_keys=True, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def expectations_diff(expected: Any, actual: Any, where: str = "") -> list[str]:
    """One readable line per difference: ``where: expected X, got Y``. Integers, text,
    booleans and nulls must be equal; floats within ``RELATIVE`` of each other."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        lines = []
        for key in sorted(set(expected) | set(actual), key=str):
            at = f"{where}.{key}" if where else str(key)
            if key not in actual:
                lines.append(f"{at}: expected {expected[key]!r}, missing now")
            elif key not in expected:
                lines.append(f"{at}: not expected, got {actual[key]!r}")
            else:
                lines += expectations_diff(expected[key], actual[key], at)
        return lines
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [
            line
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for line in expectations_diff(e, a, f"{where}[{i}]")
        ]
    if _float(expected) and _float(actual):
        if math.isclose(expected, actual, rel_tol=RELATIVE, abs_tol=0.0):
            return []
        change = f" ({(actual - expected) / expected:+.3g} relative)" if expected else ""
        return [f"{where}: expected {expected!r}, got {actual!r}{change}"]
    if type(expected) is type(actual) and expected == actual:
        return []
    return [f"{where}: expected {expected!r}, got {actual!r}"]


def _float(value: Any) -> bool:
    """A float (an integral count stays an int and is compared exactly)."""
    return isinstance(value, float)
