"""Backtest runs at the service layer: bars read from the database, a request checked field by
field (nothing made when refused), queued on the ``backtests`` queue after commit, executed
with progress and stored one value per bar, each move audited; and who sees which runs."""

from datetime import date, datetime, time
from decimal import Decimal

import numpy as np
import pytest
from django.db import OperationalError

from compliance.models import AuditEvent
from marketdata.calendar import IST
from marketdata.models import Bar, Instrument
from ops.models import JobRun
from strategies import services
from strategies.base import BacktestResult, Bars, StrategyError, Trade
from strategies.models import BacktestRun, series_pack, series_unpack
from strategies.selectors import backtest_runs_for, bars_for
from strategies.services import (
    BacktestRefused,
    backtest_execute,
    backtest_request,
    drawdown_pct,
    params_parse,
    result_fields,
)
from strategies.tests.conftest import FIRST_DAY
from tradingsite.celery import app

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("test_strategy")]


def audited(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


# --- bars from the database --------------------------------------------------------------


def test_bars_for_reads_float64_utc_times_and_ist_labels(instrument):
    bars = bars_for(instrument, "1d", date(2024, 1, 1), date(2024, 1, 5))
    assert len(bars) == 5
    assert bars.symbol == "NSE:TESTCO"
    assert bars.close.dtype == np.float64
    assert bars.volume.dtype == np.float64
    assert bars.time.dtype == np.dtype("datetime64[us]")
    assert bars.time[0] == np.datetime64("2024-01-01T03:45:00")  # 09:15 IST in UTC
    assert bars.labels == ("2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05")
    first = Bar.objects.get(instrument=instrument, start=datetime(2024, 1, 1, 9, 15, tzinfo=IST))
    assert (bars.open[0], bars.high[0], bars.low[0], bars.close[0], bars.volume[0]) == (
        float(first.open),
        float(first.high),
        float(first.low),
        float(first.close),
        10_000.0,
    )
    assert np.all(np.diff(bars.time) > np.timedelta64(0))


def test_bars_for_labels_intraday_bars_with_their_offset(instrument):
    for minute in range(3):
        start = datetime.combine(date(2024, 3, 1), time(9, 15 + minute), IST)
        Bar.objects.create(instrument=instrument, interval="1m", start=start, open=1, high=2,
                           low=1, close=2, volume=5)  # fmt: skip
    bars = bars_for(instrument, "1m", date(2024, 3, 1), date(2024, 3, 1))
    assert bars.labels == (
        "2024-03-01T09:15:00+05:30", "2024-03-01T09:16:00+05:30", "2024-03-01T09:17:00+05:30"
    )  # fmt: skip


def test_bars_for_refuses_no_bars_or_too_few(instrument):
    with pytest.raises(StrategyError, match=r"NSE:TESTCO has no bars at 1d from 2023-01-01"):
        bars_for(instrument, "1d", date(2023, 1, 1), date(2023, 1, 31))
    with pytest.raises(StrategyError, match=r"only 1 bar .* at least 2"):
        bars_for(instrument, "1d", date(2024, 1, 1), date(2024, 1, 1))


def test_series_are_packed_compactly_and_read_back_exactly():
    values = np.cumsum(np.random.default_rng(3).normal(size=5000)) + 1e6
    blob = series_pack(values)
    assert len(blob) < values.nbytes
    assert np.array_equal(series_unpack(blob), values)
    assert series_unpack(None).size == 0


# --- the request -------------------------------------------------------------------------


def test_a_request_records_a_queued_run_with_checked_params_and_enqueues_after_commit(
    tara, request_data, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = backtest_request(user=tara, data=request_data)
    assert len(callbacks) == 1  # the task goes out only once the run is committed
    run.refresh_from_db()
    assert run.status == BacktestRun.Status.QUEUED
    assert run.params == {"level": 101.5, "confirm": 1}  # typed, defaults filled in
    assert (run.instrument.key, run.interval, run.date_from) == ("NSE:TESTCO", "1d", FIRST_DAY)
    assert (run.quantity, run.cash, run.commission_pct) == (10, Decimal("100000.00"),
                                                           Decimal("0.0500"))  # fmt: skip
    assert (run.slippage_bps, run.costs, run.requested_by) == (Decimal("0"), "none", tara)
    [event] = audited("backtest.requested")
    assert (event.object_id, event.actor_username, event.chain) == (str(run.pk), "tara", "firm")
    assert event.after["params"] == {
        "level": "101.5",
        "confirm": 1,
    }  # the trail keeps floats as text


def test_the_task_is_routed_to_the_backtests_queue():
    assert app.amqp.router.route({}, "strategies.tasks.backtest_run")["queue"].name == "backtests"
    assert "backtests" in {q.name for q in app.conf.task_queues}


@pytest.mark.parametrize(
    ("change", "field", "said"),
    [
        ({"strategy": "no_such"}, "strategy", "no strategy 'no_such'"),
        ({"strategy": ""}, "strategy", "name a strategy"),
        ({"params": {"level": "high"}}, "params", "parameter level: 'high' is not float"),
        ({"params": {"level": -1}}, "params", "parameter level: -1.0 is below 0"),
        ({"params": {"window": 3}}, "params", "test_threshold has no parameter window"),
        ({"params": "level=1\nnonsense"}, "params", "line 2: 'nonsense' is not NAME=VALUE"),
        ({"params": "{not json"}, "params", "not JSON"),
        ({"instrument": "NSE:NOPE"}, "instrument", "unknown instrument(s): NSE:NOPE"),
        ({"instrument": ""}, "instrument", "name an instrument"),
        ({"interval": "2d"}, "interval", "'2d' is not an interval"),
        ({"date_from": "2024-13-01"}, "date_from", "is not a date"),
        ({"date_from": date(2024, 3, 2), "date_to": date(2024, 3, 1)}, "date_to", "before"),
        ({"date_from": date(2010, 1, 1)}, "date_to", "at most 3660 (BACKTEST_MAX_DAYS)"),
        ({"date_from": date(2023, 1, 1), "date_to": date(2023, 6, 1)}, "date_from",
         "has 0 1d bar(s)"),
        ({"quantity": 0}, "quantity", "0 is not between 1 and"),
        ({"quantity": "ten"}, "quantity", "'ten' is not a whole number"),
        ({"cash": "-5"}, "cash", "is not between 1 and"),
        ({"commission_pct": "0.00001"}, "commission_pct", "more than 4 decimal places"),
        ({"slippage_bps": "5000"}, "slippage_bps", "is not between 0 and 1000"),
        ({"costs": "usa"}, "costs", "'usa' is not a costs mode"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_naming_the_field_and_nothing_is_made(
    tara, request_data, change, field, said, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(BacktestRefused) as e:
        backtest_request(user=tara, data={**request_data, **change})
    assert e.value.problem_type == "validation-error"
    assert field in e.value.errors, e.value.errors
    assert said in " ".join(e.value.errors[field])
    assert field in e.value.detail
    assert not BacktestRun.objects.exists()
    assert not audited("backtest.requested")
    assert not callbacks


def test_every_bad_field_is_named_at_once(tara, request_data):
    bad = {**request_data, "strategy": "no_such", "instrument": "NSE:NOPE", "quantity": -1}
    with pytest.raises(BacktestRefused) as refused:
        backtest_request(user=tara, data=bad)
    assert set(refused.value.errors) == {"strategy", "instrument", "quantity"}


def test_too_many_bars_is_refused(tara, request_data, settings):
    settings.BACKTEST_MAX_BARS = 30
    with pytest.raises(BacktestRefused) as refused:
        backtest_request(user=tara, data=request_data)
    assert "60 1d bars" in refused.value.errors["date_to"][0]
    assert "BACKTEST_MAX_BARS" in refused.value.errors["date_to"][0]


def test_running_a_backtest_needs_the_permission(risk_manager, request_data):
    with pytest.raises(PermissionError, match=r"strategies\.run_backtest"):
        backtest_request(user=risk_manager, data=request_data)
    assert not BacktestRun.objects.exists()


def test_params_are_read_from_lines_or_json():
    assert params_parse("fast=10\n# a comment\n\n slow = 30 ") == {"fast": "10", "slow": "30"}
    assert params_parse('{"fast": 10, "slow": 30}') == {"fast": 10, "slow": 30}
    assert params_parse("  ") == {}
    with pytest.raises(BacktestRefused, match="line 1"):
        params_parse("fast")


def test_params_as_text_lines_are_checked_by_the_strategy(tara, request_data):
    run = backtest_request(
        user=tara, data={**request_data, "params": "level=99\nconfirm=3"}, enqueue=False
    )
    assert run.params == {"level": 99.0, "confirm": 3}


# --- the run -----------------------------------------------------------------------------


def test_a_run_stores_the_engines_results_one_value_per_bar_with_progress(
    fake_engine, tara, request_data, settings
):
    settings.CODE_VERSION = "v9.9-test"
    queued = backtest_request(user=tara, data=request_data, enqueue=False)
    run = backtest_execute(queued.pk)

    assert run.status == BacktestRun.Status.SUCCEEDED
    assert run.error == ""
    [(strategy, bars, options)] = fake_engine
    assert (strategy.name, strategy.level, len(bars)) == ("test_threshold", 101.5, 60)
    assert options == {"quantity": 10, "cash": 100000.0, "commission_pct": 0.05,
                       "slippage_bps": 0.0, "costs": None, "periods_per_year": 252,
                       "sizing": None}  # fmt: skip
    assert (run.bar_count, run.code_version) == (60, "v9.9-test")
    assert run.started_at <= run.finished_at
    expected = 100000.0 + 10 * (bars.close - bars.open[0])
    assert np.array_equal(run.equity, expected)
    assert np.array_equal(run.times, bars.time)
    assert len(run.drawdown) == 60
    assert run.drawdown.max() == 0.0
    assert np.allclose(run.drawdown, drawdown_pct(expected))
    assert run.metrics == {"total_return": pytest.approx(expected[-1] / expected[0] - 1),
                           "num_trades": 1, "sharpe": None, "profit_factor": None}  # fmt: skip
    [trade] = run.trades
    assert (trade["entry_date"], trade["exit_date"]) == (bars.labels[1], bars.labels[10])
    assert trade["pnl"] == pytest.approx((bars.open[10] - bars.open[0]) * 10)
    assert run.open_position == {"entry_index": 12, "quantity": 10, "mark": bars.close[-1]}

    job = run.job_run
    assert (job.kind, job.status, job.done, job.total, job.unit) == (
        "strategies.backtest",
        JobRun.Status.SUCCEEDED,
        3,
        3,
        "steps",
    )
    assert job.result == {"bars": 60, "trades": 1}
    [completed] = audited("backtest.completed")
    assert completed.before == {"status": "running"}
    assert completed.after["metrics"]["num_trades"] == 1


def test_a_run_done_twice_is_left_as_it_was(fake_engine, tara, request_data):
    run = backtest_request(user=tara, data=request_data, enqueue=False)
    first = backtest_execute(run.pk)
    again = backtest_execute(run.pk)
    assert (again.status, again.finished_at) == (first.status, first.finished_at)
    assert len(fake_engine) == 1
    assert len(audited("backtest.completed")) == 1


def test_a_run_whose_bars_are_gone_fails_with_the_reason(fake_engine, tara, request_data):
    run = backtest_request(user=tara, data=request_data, enqueue=False)
    Bar.objects.filter(instrument=run.instrument).delete()
    failed = backtest_execute(run.pk)
    assert failed.status == BacktestRun.Status.FAILED
    assert "NSE:TESTCO has no bars at 1d" in failed.error
    assert failed.job_run.status == JobRun.Status.FAILED
    assert failed.equity.size == 0
    assert failed.metrics == {}
    assert not fake_engine
    [event] = audited("backtest.failed")
    assert "no bars" in event.after["error"]


def test_an_engine_that_breaks_its_contract_fails_the_run(monkeypatch, tara, request_data):
    def short(strategy, bars, **options):
        return BacktestResult(trades=[], equity=np.ones(3), open_position=None)

    monkeypatch.setattr("strategies.engine.backtest", short)
    run = backtest_execute(backtest_request(user=tara, data=request_data, enqueue=False).pk)
    assert run.status == BacktestRun.Status.FAILED
    assert run.error == "the engine gave 3 equity values for 60 bars"


def test_a_transient_error_is_left_for_the_retry_then_fails(monkeypatch, tara, request_data):
    run = backtest_request(user=tara, data=request_data, enqueue=False)

    def lost(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "legs_for", lost)
    with pytest.raises(OperationalError):
        backtest_execute(run.pk, retry_transient=True)
    run.refresh_from_db()
    assert run.status == BacktestRun.Status.RUNNING  # the redelivered task may claim it again
    last = backtest_execute(run.pk)
    assert last.status == BacktestRun.Status.FAILED
    assert last.error.startswith("OperationalError: server closed")


def test_result_fields_make_json_of_what_an_engine_gives():
    n = 5
    bars = Bars(time=np.arange(n).astype("datetime64[D]").astype("datetime64[us]"),
                open=np.ones(n), high=np.ones(n), low=np.ones(n), close=np.ones(n),
                volume=np.ones(n), labels=tuple(f"d{i}" for i in range(n)))  # fmt: skip
    result = BacktestResult(
        trades=[Trade(0, 1.0, 2, 2.0, 3, 3.0)], equity=np.array([10.0, 12, 9, 12, 15]),
        open_position=None, metrics={"cagr": np.float32(0.5), "sortino": float("inf")},
    )  # fmt: skip
    fields = result_fields(result, bars)
    assert fields["metrics"] == {"cagr": 0.5, "sortino": None}
    assert fields["trades"][0]["entry_date"] == "d0"
    assert fields["trades"][0]["exit_date"] == "d2"
    assert np.allclose(series_unpack(fields["drawdown_packed"]), [0, 0, -25, 0, 0])


def test_drawdown_is_percent_below_the_running_peak():
    assert drawdown_pct(np.array([100.0, 110, 99, 121, 60.5])).tolist() == pytest.approx(
        [0, 0, -10, 0, -50]
    )


def test_the_code_version_comes_from_settings_else_git(settings, monkeypatch):
    settings.CODE_VERSION = "release-42"
    assert services.code_version() == "release-42"
    settings.CODE_VERSION = ""
    services._git_describe.cache_clear()
    described = services.code_version()
    assert described
    assert described != "release-42"
    services._git_describe.cache_clear()
    monkeypatch.setattr(services.shutil, "which", lambda name: None)
    assert services.code_version() == "unknown"
    services._git_describe.cache_clear()


# --- who sees which runs ----------------------------------------------------------------


def test_traders_see_their_own_runs_the_desks_staff_all_others_none(
    tara, tom, risk_manager, user_in_role, request_data
):
    mine = backtest_request(user=tara, data=request_data, enqueue=False)
    theirs = backtest_request(user=tom, data=request_data, enqueue=False)
    assert list(backtest_runs_for(user=tara)) == [mine]
    assert set(backtest_runs_for(user=risk_manager)) == {mine, theirs}
    assert set(backtest_runs_for(user=user_in_role("Auditor"))) == {mine, theirs}
    assert not backtest_runs_for(user=user_in_role("Algo Client")).exists()
    assert not backtest_runs_for(user=user_in_role("Operations")).exists()


def test_an_instrument_with_runs_cannot_be_deleted(tara, request_data):
    from django.db.models import ProtectedError

    backtest_request(user=tara, data=request_data, enqueue=False)
    with pytest.raises(ProtectedError):
        Instrument.objects.get(tradingsymbol="TESTCO").delete()
