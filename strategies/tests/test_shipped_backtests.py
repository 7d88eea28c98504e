"""Backtests in CI: every registered strategy on the shipped bars, through the ``backtest``
command, gives the summary stored in ``strategies/data/expected.json``.

A failure shows each differing figure (``strategy.key: expected X, got Y``). If the
change is meant, refresh with ``python manage.py backtest_expectations --write`` and
commit the new expectations with the change that made them (docs/strategies.md).
"""

from __future__ import annotations

import json
import shutil

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

import strategies.catalogue  # noqa: F401  (registers every strategy before collection)
from strategies.base import STRATEGIES
from strategies.data.generate import FILES, generate
from strategies.shipped import (
    DATA,
    EXPECTED,
    SHIPPED,
    expectations_diff,
    expectations_read,
    shipped_missing,
    shipped_summary,
)
from strategies.tests.engine_fixtures import SmaCrossReference


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_registered_strategy_backtests_as_expected(name):
    assert name in SHIPPED, f"{name} has no shipped run: add it to strategies.shipped.SHIPPED"
    expected = expectations_read()
    assert name in expected, f"{name} has no expectation: run backtest_expectations --write"
    actual = shipped_summary(name)
    assert actual["num_trades"] > 0, f"{name} trades nothing on its shipped bars"
    lines = expectations_diff(expected[name], actual, name)
    assert not lines, "the shipped backtest changed:\n" + "\n".join(lines)


def test_expectations_are_for_exactly_the_shipped_runs():
    assert sorted(expectations_read()) == sorted(SHIPPED)
    assert shipped_missing() == []
    for run in SHIPPED.values():
        assert all((DATA / name).is_file() for name in run.bars)


def test_a_strategy_registered_without_a_shipped_run_fails_ci(monkeypatch):
    monkeypatch.setitem(STRATEGIES, SmaCrossReference.name, SmaCrossReference)
    assert shipped_missing() == [SmaCrossReference.name]
    with pytest.raises(CommandError, match=SmaCrossReference.name):
        call_command("backtest_expectations")


def test_the_shipped_bars_are_what_the_seeded_generator_writes(tmp_path):
    generate(tmp_path)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


def test_the_diff_names_every_change_beyond_the_tolerance():
    expected = {
        "num_trades": 9, "sharpe": 0.5, "cagr": None, "strategy": "sma_cross",
        "open_position": {"entry_index": 493, "unrealised_pnl": -107.9825},
    }  # fmt: skip
    assert expectations_diff(expected, json.loads(json.dumps(expected))) == []
    assert expectations_diff(expected, {**expected, "sharpe": 0.5 * (1 + 1e-12)}) == []
    changed = {
        **expected,
        "num_trades": 10,
        "sharpe": 0.5 * (1 + 1e-8),
        "cagr": 0.0,
        "open_position": {"entry_index": 493.0, "unrealised_pnl": -107.9825},
        "exposure": 0.3,
    }
    assert expectations_diff(expected, changed, "s") == [
        "s.cagr: expected None, got 0.0",
        "s.exposure: not expected, got 0.3",
        "s.num_trades: expected 9, got 10",
        "s.open_position.entry_index: expected 493, got 493.0",
        "s.sharpe: expected 0.5, got 0.500000005 (+1e-08 relative)",
    ]
    assert expectations_diff(expected, {**expected, "open_position": None}, "s") == [
        "s.open_position: expected {'entry_index': 493, 'unrealised_pnl': -107.9825}, got None"
    ]


def test_the_command_writes_only_with_the_flag(tmp_path, capsys):
    path = tmp_path / "expected.json"
    shutil.copy(EXPECTED, path)
    stored = json.loads(path.read_text())
    stored["sma_cross"]["num_trades"] += 1
    path.write_text(json.dumps(stored))
    before = path.read_bytes()

    with pytest.raises(CommandError, match=r"1 difference.*not written"):
        call_command("backtest_expectations", "--file", str(path))
    assert path.read_bytes() == before
    assert "sma_cross.num_trades: expected" in capsys.readouterr().out

    call_command("backtest_expectations", "--file", str(path), "--write")
    # As shipped, to the tolerance: the last bits of a float may differ from one CPU's
    # vector instructions to another's.
    assert expectations_diff(expectations_read(EXPECTED), expectations_read(path)) == []
    call_command("backtest_expectations", "--file", str(path))  # now as expected
