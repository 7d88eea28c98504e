"""``manage.py backtest`` end to end: the files it writes, floats at full precision, dates
echoed as written, and clear errors. No database: the reference strategy is registered
here (the catalogue is another module's)."""

import csv
import importlib.util
import json
import sys
import types

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from strategies.bars import bars_read_csv
from strategies.base import STRATEGIES
from strategies.engine import backtest
from strategies.tests.engine_fixtures import SmaCrossReference, random_walk_bars


@pytest.fixture(autouse=True)
def reference_strategy(monkeypatch):
    if importlib.util.find_spec("strategies.catalogue") is None:
        # strategy_make imports the catalogue to register it; until it exists, nothing.
        monkeypatch.setitem(sys.modules, "strategies.catalogue", types.ModuleType("catalogue"))
    monkeypatch.setitem(STRATEGIES, SmaCrossReference.name, SmaCrossReference)


@pytest.fixture
def bars_csv(tmp_path):
    """400 minute bars labelled in IST with an offset, prices on the 0.05 grid."""
    bars = random_walk_bars(400, seed=7, start="2024-03-04T03:45", step="m")
    labels = [
        str(t + np.timedelta64(330, "m"))[:19].replace(" ", "T") + "+05:30" for t in bars.time
    ]
    path = tmp_path / "INFY.csv"
    rows = zip(labels, bars.open, bars.high, bars.low, bars.close, bars.volume, strict=True)
    path.write_text(
        "date,open,high,low,close,volume\n"
        + "".join(f"{d},{o:.2f},{h:.2f},{lo:.2f},{c:.2f},{v:.0f}\n" for d, o, h, lo, c, v in rows)
    )
    return path


def _run(bars_csv, out, *extra):
    call_command(
        "backtest", SmaCrossReference.name, "--bars", str(bars_csv), "--param", "fast=5",
        "--param", "slow=20", "--quantity", "7", "--cash", "100000", "--commission-pct", "0.03",
        "--fill", "next_open", "--out", str(out), *extra,
    )  # fmt: skip


def test_the_command_writes_trades_equity_and_summary(bars_csv, tmp_path):
    out = tmp_path / "run"
    _run(bars_csv, out)
    bars = bars_read_csv(bars_csv)
    expected = backtest(
        SmaCrossReference(fast=5, slow=20), bars, quantity=7, cash=100_000.0, commission_pct=0.03
    )
    assert len(expected.trades) >= 3

    with (out / "trades.csv").open() as file:
        trades = list(csv.DictReader(file))
    assert list(trades[0]) == [
        "entry_date",
        "entry_price",
        "exit_date",
        "exit_price",
        "quantity",
        "pnl",
    ]
    assert len(trades) == len(expected.trades)
    for row, trade in zip(trades, expected.trades, strict=True):
        assert row["entry_date"] == bars.labels[trade.entry_index]  # as the input wrote it
        assert row["entry_date"].endswith("+05:30")
        assert row["exit_date"] == bars.labels[trade.exit_index]
        assert float(row["entry_price"]) == trade.entry_price
        assert row["quantity"] == "7"
        # Full precision: the text is the float's repr, so it reads back to the same bits.
        assert row["pnl"] == repr(trade.pnl)
        assert float(row["pnl"]) == trade.pnl
    assert any(len(row["pnl"].split(".")[-1]) > 6 for row in trades)  # nothing rounded

    with (out / "equity.csv").open() as file:
        equity = list(csv.reader(file))
    assert equity[0] == ["date", "equity"]
    assert [row[0] for row in equity[1:]] == list(bars.labels)  # one row per input bar
    assert [float(row[1]) for row in equity[1:]] == expected.equity.tolist()
    assert equity[1][1] == "100000.0"

    summary = json.loads((out / "summary.json").read_text())
    for key in (
        "num_trades", "total_pnl", "final_equity", "max_drawdown_pct", "total_return", "cagr",
        "sharpe", "sortino", "profit_factor", "win_rate",
    ):  # fmt: skip
        assert summary[key] == expected.metrics[key], key
    assert summary["num_trades"] == len(trades)
    assert summary["final_equity"] == float(equity[-1][1])
    assert summary["periods_per_year"] == 252 * 375
    assert summary["open_position"] == expected.open_position


def test_the_commission_changes_the_result(bars_csv, tmp_path):
    _run(bars_csv, tmp_path / "a")
    _run(bars_csv, tmp_path / "b", "--commission-pct", "0.5")
    a = json.loads((tmp_path / "a" / "summary.json").read_text())
    b = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert a["num_trades"] == b["num_trades"]
    assert b["total_pnl"] < a["total_pnl"]


def test_an_unknown_strategy_is_a_command_error(bars_csv, tmp_path):
    with pytest.raises(
        CommandError, match=r"no strategy 'nope' \(choose one of .*test_sma_cross_reference"
    ):
        call_command("backtest", "nope", "--bars", str(bars_csv), "--out", str(tmp_path))


def test_an_unknown_or_bad_parameter_is_a_command_error(bars_csv, tmp_path):
    with pytest.raises(CommandError, match="has no parameter period"):
        call_command(
            "backtest", SmaCrossReference.name, "--bars", str(bars_csv), "--param", "period=3",
            "--out", str(tmp_path),
        )  # fmt: skip
    with pytest.raises(CommandError, match=r"parameter fast: 'x' is not int"):
        call_command(
            "backtest", SmaCrossReference.name, "--bars", str(bars_csv), "--param", "fast=x",
            "--out", str(tmp_path),
        )  # fmt: skip
    with pytest.raises(CommandError, match="expected NAME=VALUE"):
        call_command(
            "backtest", SmaCrossReference.name, "--bars", str(bars_csv), "--param", "fast",
            "--out", str(tmp_path),
        )  # fmt: skip


def test_bad_bars_are_a_command_error_naming_the_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "date,open,high,low,close,volume\n2024-01-01,1,2,0.5,1,1\n2024-01-02,1,0.5,2,1,1\n"
    )
    with pytest.raises(CommandError, match=r"bad.csv line 3: high 0.5 is below low 2.0"):
        call_command(
            "backtest", SmaCrossReference.name, "--bars", str(path), "--out", str(tmp_path)
        )
    assert not (tmp_path / "summary.json").exists()


def test_indian_charges_are_taken_on_every_fill(bars_csv, tmp_path):
    _run(bars_csv, tmp_path / "plain", "--commission-pct", "0")
    _run(bars_csv, tmp_path / "charged", "--commission-pct", "0", "--charges", "CNC")
    plain = json.loads((tmp_path / "plain" / "summary.json").read_text())
    charged = json.loads((tmp_path / "charged" / "summary.json").read_text())
    with (tmp_path / "plain" / "trades.csv").open() as file:
        plain_trades = list(csv.DictReader(file))
    with (tmp_path / "charged" / "trades.csv").open() as file:
        charged_trades = list(csv.DictReader(file))
    assert len(plain_trades) == len(charged_trades) > 0
    for a, b in zip(plain_trades, charged_trades, strict=True):
        # 7 shares at about 500: STT 0.1 % each side is about 3.5 rupees, and more.
        assert float(a["pnl"]) - float(b["pnl"]) > 6.0
    assert charged["total_pnl"] < plain["total_pnl"]
