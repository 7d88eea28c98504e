"""Fixtures of the backtest-run tests: a test-only strategy, an instrument with bars, users of
the roles that hold the strategies permissions, and a stand-in engine for the service's
storage path (the engine is tested in its own modules; the end-to-end tests here use it)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

import numpy as np
import pytest

from marketdata.calendar import IST
from marketdata.models import Bar, Instrument
from strategies.base import STRATEGIES, BacktestResult, Bars, Param, Strategy, Trade

FIRST_DAY = datetime(2024, 1, 1).date()
DAYS = 60


class ThresholdStrategy(Strategy):
    """Test only: long while the close is above ``level``."""

    name = "test_threshold"
    title = "Close above a level (test)"
    params = (
        Param("level", float, 100.0, low=0, help="the level"),
        Param("confirm", int, 1, low=1, high=20),
    )

    def targets(self, bars):
        return (bars.close > self.level).astype(np.float64)


@pytest.fixture
def test_strategy(monkeypatch):
    """``test_threshold`` in the catalogue for one test (and only then: the catalogue's own
    tests see the catalogue as it is)."""
    import strategies.catalogue  # noqa: F401  (registers the real ones first)

    monkeypatch.setitem(STRATEGIES, ThresholdStrategy.name, ThresholdStrategy)
    return ThresholdStrategy


def day_bars(instrument: Instrument, days: int = DAYS, first=FIRST_DAY) -> list[Bar]:
    """``days`` day bars (weekdays from ``first``, 09:15 IST), a wave around 100 on the tick
    grid, high and low a rupee either side."""
    rows, day, i = [], first, 0
    while i < days:
        if day.weekday() < 5:
            close = Decimal(str(round(100 + 8 * np.sin(i / 4), 1)))
            rows.append(
                Bar(
                    instrument=instrument,
                    interval="1d",
                    start=datetime.combine(day, time(9, 15), IST),
                    open=close - Decimal("0.5"),
                    high=close + 1,
                    low=close - 1,
                    close=close,
                    volume=10_000 + i,
                )
            )
            i += 1
        day += timedelta(days=1)
    Bar.objects.bulk_create(rows)
    return rows


@pytest.fixture
def instrument(db) -> Instrument:
    """NSE:TESTCO with 60 day bars from 2024-01-01."""
    testco = Instrument.objects.create(tradingsymbol="TESTCO", name="Test Company Ltd.")
    day_bars(testco)
    return testco


@pytest.fixture
def last_day(instrument) -> datetime:
    return Bar.objects.filter(instrument=instrument).order_by("-start")[0].start.astimezone(IST)


@pytest.fixture
def request_data(instrument, last_day) -> dict:
    return {
        "strategy": "test_threshold",
        "params": {"level": "101.5"},
        "instrument": "NSE:TESTCO",
        "interval": "1d",
        "date_from": FIRST_DAY,
        "date_to": last_day.date(),
        "quantity": 10,
        "cash": Decimal("100000"),
        "commission_pct": Decimal("0.05"),
    }


@pytest.fixture
def tara(user_in_role):
    return user_in_role("Trader", "tara")


@pytest.fixture
def tom(user_in_role):
    return user_in_role("Trader", "tom")


@pytest.fixture
def risk_manager(user_in_role):
    return user_in_role("Risk Manager", "rhea")


@pytest.fixture
def administrator(user_in_role):
    return user_in_role("Administrator", "ada")


def fake_backtest(strategy, bars: Bars, **options) -> BacktestResult:
    """A stand-in for ``strategies.engine.backtest``: holds ``quantity`` from the first open
    to the close, one round trip over the first ten bars, metrics with numpy values and an
    undefined ratio (NaN), as an engine may give them."""
    q = options["quantity"]
    equity = options["cash"] + q * (bars.close - bars.open[0])
    pnl = (bars.open[10] - bars.open[0]) * q
    return BacktestResult(
        trades=[Trade(entry_index=1, entry_price=float(bars.open[1]), exit_index=10,
                      exit_price=float(bars.open[10]), quantity=q, pnl=float(pnl))],
        equity=equity,
        open_position={"entry_index": 12, "quantity": q, "mark": np.float64(bars.close[-1])},
        metrics={"total_return": np.float64(equity[-1] / equity[0] - 1), "num_trades": np.int64(1),
                 "sharpe": float("nan"), "profit_factor": None},
    )  # fmt: skip


@pytest.fixture
def fake_engine(monkeypatch):
    """``strategies.engine.backtest`` replaced by :func:`fake_backtest`; the calls it got are
    kept. For the service's own path (claim, progress, storage, audit) on known results."""
    calls = []

    def backtest(strategy, bars, **options):
        calls.append((strategy, bars, options))
        return fake_backtest(strategy, bars, **options)

    monkeypatch.setattr("strategies.engine.backtest", backtest)
    return calls


@pytest.fixture
def succeeded_run(test_strategy, fake_engine, tara, request_data, settings):
    """A run of tara's, requested and run (through the stand-in engine)."""
    from strategies.services import backtest_execute, backtest_request

    settings.CODE_VERSION = "v1.2.3-test"
    run = backtest_request(user=tara, data=request_data, enqueue=False)
    return backtest_execute(run.pk)
