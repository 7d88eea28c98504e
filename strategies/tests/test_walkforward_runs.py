"""Walk-forwards, pairs and risk sizing as stored runs: requested through the service, the
API and the admin form, refused naming the field with nothing made, run by the worker's
code path on bars from the database with the real engine, and shown in the admin."""

from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from compliance.models import AuditEvent
from conftest import problem
from marketdata.calendar import IST
from marketdata.models import Bar, Instrument
from strategies import services
from strategies.models import BacktestRun
from strategies.selectors import legs_for
from strategies.services import (
    BacktestRefused,
    backtest_execute,
    backtest_request,
    walkforward_request,
)

pytestmark = pytest.mark.django_db
FIRST = datetime(2024, 1, 1, 9, 15, tzinfo=IST)


def minute_bars(instrument: Instrument, n: int, *, seed: int, base: float = 100.0) -> None:
    """``n`` one-minute bars from 2024-01-01 09:15 IST, a seeded random walk on the tick
    grid, as one continuous series."""
    rng = np.random.default_rng(seed)
    closes = np.round((base + np.cumsum(rng.normal(0, 0.3, n))) / 0.05) * 0.05
    rows = []
    for i, close in enumerate(closes):
        c = Decimal(str(round(float(close), 2)))
        rows.append(
            Bar(
                instrument=instrument,
                interval="1m",
                start=FIRST + timedelta(minutes=i),
                open=c - Decimal("0.05"),
                high=c + Decimal("0.5"),
                low=c - Decimal("0.5"),
                close=c,
                volume=1000 + i,
            )
        )
    Bar.objects.bulk_create(rows)


@pytest.fixture
def minutes(db) -> Instrument:
    walk = Instrument.objects.create(tradingsymbol="WALKCO", name="Walk Co")
    minute_bars(walk, 1500, seed=5)
    return walk


@pytest.fixture
def quant(user_in_role):
    return user_in_role("Quant", "quinn")


def walk_data(**change) -> dict:
    return {
        "strategy": "sma_cross", "instrument": "NSE:WALKCO", "interval": "1m",
        "date_from": "2024-01-01", "date_to": "2024-01-02", "space": "fast=3,5,8\nslow=20,40",
        "windows": 3, "out_of_sample": 300, "quantity": 10, **change,
    }  # fmt: skip


def test_a_walk_forward_is_stored_with_its_windows_and_stitched_out_of_sample_run(minutes, quant):
    queued = walkforward_request(user=quant, data=walk_data(), enqueue=False)
    assert (queued.kind, queued.status, queued.params) == ("walk_forward", "queued", {})
    plan = queued.walk_forward
    assert plan["space"] == {"grid": {"fast": ["3", "5", "8"], "slow": ["20", "40"]}}
    assert (plan["points"], plan["windows"], plan["objective"]) == (6, 3, "sharpe")
    run = backtest_execute(queued.pk)
    assert run.status == "succeeded", run.error
    # Three windows of 300 out-of-sample bars after 600 in-sample: the last 900 bars.
    assert run.bar_count == 900
    assert len(run.equity) == len(run.drawdown) == len(run.times) == 900
    assert run.equity[0] == 1_000_000.0
    assert [w["index"] for w in run.windows] == [0, 1, 2]
    for window in run.windows:
        assert window["params"]["fast"] in (3, 5, 8)
        assert window["points"] == 6
        assert window["oos_first"] > window["is_last"]  # never a bar of its own future
    assert set(run.degradation) == {"sharpe", "total_return"}
    assert run.degradation["sharpe"]["windows"] <= 3
    assert run.metrics["final_equity"] == pytest.approx(run.equity[-1])
    assert run.job_run.done == run.job_run.total == 5  # bars, three windows, stored
    actions = list(
        AuditEvent.objects.filter(object_id=str(run.pk)).values_list("action", flat=True)
    )
    assert actions == ["backtest.walkforward_requested", "backtest.completed"]


@pytest.mark.parametrize(
    ("change", "field", "said"),
    [
        ({"space": "fast=3,5\nspeed=1"}, "space", "no parameter speed"),
        ({"space": "fast"}, "space", "expected NAME=v1,v2"),
        ({"space": "fast=2:9"}, "space", "needs a number of samples"),
        ({"space": "fast=3,5", "samples": 4}, "space", "samples are for random search"),
        ({"space": "fast=40\nslow=10"}, "space", "no valid point"),
        ({"space": ""}, "space", "grid: no parameters"),
        ({"windows": 9}, "windows", "must each be 2 or more (1500 bars for 9 windows)"),
        ({"windows": 4, "in_sample": 400}, "windows", "need 1600 bars; there are 1500"),
        ({"windows": 0}, "windows", "not between 1 and 50"),
        ({"objective": "luck"}, "objective", "choose one of"),
        ({"boundary": "jump"}, "boundary", "choose one of"),
        ({"params": {"fast": 3}}, "params", "varies its parameters in the space"),
        ({"instrument": "NSE:NOPE"}, "instrument", "NSE:NOPE"),
    ],
)
def test_a_bad_walk_forward_is_refused_naming_the_field_and_makes_nothing(
    minutes, quant, change, field, said
):
    with pytest.raises(BacktestRefused) as refused:
        walkforward_request(user=quant, data=walk_data(**change), enqueue=False)
    assert said in " ".join(refused.value.errors[field])
    assert not BacktestRun.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="backtest.").exists()


def test_a_space_over_the_limit_is_refused(minutes, quant, settings):
    settings.WALKFORWARD_MAX_POINTS = 5
    with pytest.raises(BacktestRefused, match="space") as refused:
        walkforward_request(user=quant, data=walk_data(), enqueue=False)
    assert "6 points: at most 5" in refused.value.errors["space"][0]


def test_random_search_is_stored_with_its_seed_and_runs(minutes, quant):
    data = walk_data(space={"fast": "2:8", "slow": "15:40"}, samples=5, seed=11, anchored=True)
    run = backtest_execute(walkforward_request(user=quant, data=data, enqueue=False).pk)
    assert run.walk_forward["space"] == {
        "random": {"fast": ["2", "8"], "slow": ["15", "40"]}, "samples": 5, "seed": 11
    }  # fmt: skip
    assert run.walk_forward["anchored"] is True
    assert run.status == "succeeded", run.error
    assert all(2 <= w["params"]["fast"] <= 8 for w in run.windows)


def test_in_a_daemonic_worker_the_walk_forward_runs_in_one_process(monkeypatch, settings):
    settings.WALKFORWARD_PROCESSES = 4

    class Daemon:
        daemon = True

    assert services._walk_processes() == 4
    monkeypatch.setattr("multiprocessing.current_process", lambda: Daemon())
    assert services._walk_processes() == 1


# --- pairs, as a stored run ---------------------------------------------------------------


@pytest.fixture
def pair(db) -> tuple[Instrument, Instrument]:
    """Two cointegrated minute series: the second is 1.5 x the first plus stationary noise,
    with a minute missing from the second (the legs share the other bars)."""
    a = Instrument.objects.create(tradingsymbol="LEGA", name="Leg A")
    b = Instrument.objects.create(tradingsymbol="LEGB", name="Leg B")
    minute_bars(a, 400, seed=2)
    rng = np.random.default_rng(9)
    rows = []
    for bar in Bar.objects.filter(instrument=a).order_by("start"):
        noise = rng.normal(0, 0.6)
        c = Decimal(str(round(round((float(bar.close) * 1.5 + noise) / 0.05) * 0.05, 2)))
        rows.append(
            Bar(
                instrument=b,
                interval="1m",
                start=bar.start,
                open=c,
                high=c + 1,
                low=c - 1,
                close=c,
                volume=500,
            )
        )
    del rows[100]
    Bar.objects.bulk_create(rows)
    return a, b


def test_a_pair_reads_both_legs_on_their_common_bars(pair):
    a, b = pair
    legs = legs_for([a, b], "1m", FIRST.date(), FIRST.date() + timedelta(days=1))
    assert len(legs) == 2
    assert len(legs[0]) == len(legs[1]) == 399
    assert np.array_equal(legs[0].time, legs[1].time)
    assert (legs[0].symbol, legs[1].symbol) == ("NSE:LEGA", "NSE:LEGB")


def test_a_pair_runs_as_a_stored_backtest_trading_both_legs(pair, quant):
    data = {
        "strategy": "pairs", "params": {"lookback": 60, "entry": 1.5}, "instrument": "NSE:LEGA",
        "second_instrument": "NSE:LEGB", "interval": "1m", "date_from": "2024-01-01",
        "date_to": "2024-01-01", "quantity": 10,
    }  # fmt: skip
    run = backtest_execute(backtest_request(user=quant, data=data, enqueue=False).pk)
    assert run.status == "succeeded", run.error
    assert run.data_label == "NSE:LEGA/NSE:LEGB 1m 2024-01-01..2024-01-01"
    assert run.bar_count == 399
    legs = {t["leg"] for t in run.trades}
    assert legs == {0, 1}, run.trades
    # One leg long and the other short in each round trip.
    assert {np.sign(t["quantity"]) for t in run.trades} == {-1.0, 1.0}


@pytest.mark.parametrize(
    ("change", "field", "said"),
    [
        ({"second_instrument": ""}, "second_instrument", "name the second leg"),
        ({"second_instrument": "NSE:LEGA"}, "second_instrument", "must differ"),
        ({"second_instrument": "NSE:NOPE"}, "second_instrument", "NSE:NOPE"),
        ({"sizing": "risk"}, "sizing", "a pair trades a fixed quantity"),
        ({"strategy": "sma_cross", "params": {}}, "second_instrument", "one instrument"),
    ],
)
def test_a_bad_pair_is_refused_naming_the_field(pair, quant, change, field, said):
    data = {
        "strategy": "pairs", "instrument": "NSE:LEGA", "second_instrument": "NSE:LEGB",
        "interval": "1m", "date_from": "2024-01-01", "date_to": "2024-01-01", **change,
    }  # fmt: skip
    with pytest.raises(BacktestRefused) as refused:
        backtest_request(user=quant, data=data, enqueue=False)
    assert said in " ".join(refused.value.errors[field])
    assert not BacktestRun.objects.exists()


# --- risk sizing, as a stored run -----------------------------------------------------------


def test_a_risk_sized_run_sizes_each_entry_from_its_equity(minutes, quant):
    data = {
        "strategy": "sma_cross", "params": {"fast": 5, "slow": 20}, "instrument": "NSE:WALKCO",
        "interval": "1m", "date_from": "2024-01-01", "date_to": "2024-01-02",
        "sizing": "risk", "risk_pct": "1", "stop_atr": "3", "cash": "500000",
    }  # fmt: skip
    run = backtest_execute(backtest_request(user=quant, data=data, enqueue=False).pk)
    assert run.status == "succeeded", run.error
    assert (run.sizing, run.risk_pct, run.stop_atr) == ("risk", Decimal("1"), Decimal("3"))
    quantities = {t["quantity"] for t in run.trades}
    assert len(quantities) > 1  # sized per entry, not one fixed quantity
    assert all(q > 0 for q in quantities)


@pytest.mark.parametrize(
    ("change", "field", "said"),
    [
        ({"sizing": "kelly"}, "sizing", "not a sizing"),
        ({"risk_pct": "2"}, "risk_pct", "for risk sizing"),
        ({"sizing": "risk", "risk_pct": "0"}, "risk_pct", "not between"),
        ({"sizing": "risk", "stop_atr": "lots"}, "stop_atr", "not a number"),
    ],
)
def test_bad_sizing_is_refused_naming_the_field(minutes, quant, change, field, said):
    data = {
        "strategy": "sma_cross", "instrument": "NSE:WALKCO", "interval": "1m",
        "date_from": "2024-01-01", "date_to": "2024-01-02", **change,
    }  # fmt: skip
    with pytest.raises(BacktestRefused) as refused:
        backtest_request(user=quant, data=data, enqueue=False)
    assert said in " ".join(refused.value.errors[field])


# --- through the API and the admin ------------------------------------------------------------


def test_the_api_queues_a_walk_forward_and_shows_its_windows(
    minutes, quant, django_capture_on_commit_callbacks
):
    api = APIClient()
    api.force_authenticate(quant)
    body = walk_data(space={"fast": [3, 5, 8], "slow": [20, 40]})
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.post("/api/v1/walkforwards", body, format="json")
    assert answer.status_code == 202, answer.content
    assert answer.json()["kind"] == "walk_forward"
    got = api.get(answer["Location"]).json()
    assert got["status"] == "succeeded", got["error"]
    assert [w["index"] for w in got["windows"]] == [0, 1, 2]
    assert got["walk_forward"]["points"] == 6
    assert set(got["degradation"]["sharpe"]) == {
        "windows", "in_sample_mean", "out_of_sample_mean", "difference", "ratio"
    }  # fmt: skip
    equity = api.get(got["equity_url"]).json()
    assert len(equity["equity"]) == 900
    listed = api.get("/api/v1/backtests", {"kind": "walk_forward"}).json()
    assert [r["id"] for r in listed["results"]] == [got["id"]]


def test_the_api_refuses_a_bad_walk_forward_naming_the_field(minutes, quant):
    api = APIClient()
    api.force_authenticate(quant)
    answer = api.post("/api/v1/walkforwards", walk_data(space={"fast": [3], "speed": [1]}),
                      format="json")  # fmt: skip
    said = problem(answer, 400, "validation-error")
    assert "no parameter speed" in said["errors"]["space"][0]
    answer = api.post("/api/v1/walkforwards", walk_data(space=[1, 2]), format="json")
    assert "space" in problem(answer, 400, "validation-error")["errors"]
    assert not BacktestRun.objects.exists()


def test_a_trader_without_the_permission_may_not_walk_forward(minutes, user_in_role):
    api = APIClient()
    api.force_authenticate(user_in_role("Compliance Officer", "cora"))
    answer = api.post("/api/v1/walkforwards", walk_data(), format="json")
    assert answer.status_code == 403
    assert not BacktestRun.objects.exists()


def test_a_quant_runs_a_walk_forward_from_the_admin_and_sees_its_windows(
    minutes, quant, client, otp_login, django_capture_on_commit_callbacks
):
    otp_login(client, quant)
    url = reverse("admin:strategies_backtestrun_walkforward")
    page = client.get(url)
    assert page.status_code == 200
    assert b"Run walk-forward" in page.content
    posted = {
        **walk_data(), "boundary": "carry", "objective": "sharpe", "sizing": "fixed",
        "cash": "1000000", "commission_pct": "0", "slippage_bps": "0", "costs": "none",
    }  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(url, posted)
    run = BacktestRun.objects.get()
    assert answer.status_code == 302, answer.content.decode()[:2000]
    assert run.status == "succeeded", run.error
    shown = client.get(reverse("admin:strategies_backtestrun_change", args=[run.pk]))
    html = shown.content.decode()
    assert 'class="walkforward-windows"' in html
    assert 'class="walkforward-degradation"' in html
    assert "grid fast=3,5,8; slow=20,40: 6 points (0 skipped); 3 rolling windows" in html
    chart = client.get(reverse("admin:strategies_backtestrun_chart", args=[run.pk]))
    assert chart["Content-Type"] == "image/png"


def test_the_admin_form_shows_a_bad_space_on_its_field(minutes, quant, client, otp_login):
    otp_login(client, quant)
    posted = {**walk_data(space="fast=3\nfast=5"), "sizing": "fixed", "cash": "1000000",
              "commission_pct": "0", "slippage_bps": "0", "costs": "none"}  # fmt: skip
    answer = client.post(reverse("admin:strategies_backtestrun_walkforward"), posted)
    assert answer.status_code == 200
    assert "parameter fast given twice" in answer.content.decode()
    assert not BacktestRun.objects.exists()
