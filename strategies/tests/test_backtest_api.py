"""The strategies API's contract: the catalogue with typed parameters; a backtest requested
(202 and a Location), refused input as problem+json 400 naming the field with nothing made,
403 without the permissions, another trader's run a 404; the list paginated, the detail
with progress, metrics and trades; equity data per bar for a chart (409 until it exists).
And, with the real engine once it is merged, a run end to end."""

import numpy as np
import pytest
from rest_framework.test import APIClient

from conftest import problem
from strategies.models import BacktestRun
from strategies.selectors import bars_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("test_strategy")]
BACKTESTS = "/api/v1/backtests"


def api_for(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


@pytest.fixture
def body(request_data) -> dict:
    return {
        **request_data,
        "date_from": request_data["date_from"].isoformat(),
        "date_to": request_data["date_to"].isoformat(),
        "cash": "100000.00",
        "commission_pct": "0.05",
    }


def test_the_catalogue_lists_strategies_with_typed_params(tara):
    listed = {s["name"]: s for s in api_for(tara).get("/api/v1/strategies").json()}
    mine = listed["test_threshold"]
    assert mine == {
        "name": "test_threshold", "title": "Close above a level (test)", "beta": False,
        "legs": 1, "intraday": False, "shorts": False,
        "params": [
            {"name": "level", "type": "float", "default": 100.0, "low": 0.0, "high": None,
             "help": "the level"},
            {"name": "confirm", "type": "int", "default": 1, "low": 1.0, "high": 20.0,
             "help": ""},
        ],
    }  # fmt: skip


def test_a_request_is_accepted_with_its_location(tara, body, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        answer = api_for(tara).post(BACKTESTS, body, format="json")
    assert answer.status_code == 202, answer.content
    run = BacktestRun.objects.get()
    assert answer["Location"] == f"{BACKTESTS}/{run.pk}"
    got = answer.json()
    assert (got["status"], got["strategy"], got["instrument"]) == (
        "queued", "test_threshold", "NSE:TESTCO"
    )  # fmt: skip
    assert (got["params"], got["cash"], got["commission_pct"]) == (
        {"level": 101.5, "confirm": 1}, "100000.00", "0.0500"
    )  # fmt: skip
    assert (got["requested_by"], got["equity_url"], got["progress"]) == ("tara", None, None)
    assert len(callbacks) == 1


def test_bad_params_answer_400_naming_the_field_and_make_nothing(tara, body):
    answer = api_for(tara).post(
        BACKTESTS, {**body, "params": {"level": -2, "window": 3}}, format="json"
    )
    said = problem(answer, 400, "validation-error")
    assert "test_threshold has no parameter window" in said["errors"]["params"][0]
    assert not BacktestRun.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"strategy": "nope"}, "strategy"),
        ({"instrument": "NSE:NOPE"}, "instrument"),
        ({"interval": "7d"}, "interval"),
        ({"date_from": "2024-04-01", "date_to": "2024-03-01"}, "date_to"),
        ({"quantity": 0}, "quantity"),
        ({"cash": "-1"}, "cash"),
        ({"params": {"level": {"nested": 1}}}, "params.level"),
        ({"status": "succeeded"}, "status"),  # not a field anyone sets
    ],
)
def test_each_bad_field_is_named(tara, body, change, field):
    answer = api_for(tara).post(BACKTESTS, {**body, **change}, format="json")
    said = problem(answer, 400, "validation-error")
    assert field in said["errors"], said
    assert not BacktestRun.objects.exists()


def test_a_missing_field_is_named(tara, body):
    del body["instrument"]
    said = problem(api_for(tara).post(BACKTESTS, body, format="json"), 400, "validation-error")
    assert said["errors"] == {"instrument": ["This field is required."]}


def test_who_may_look_and_who_may_run(risk_manager, user_in_role, body, succeeded_run):
    staff = api_for(risk_manager)
    assert staff.get(BACKTESTS).status_code == 200
    said = problem(staff.post(BACKTESTS, body, format="json"), 403, "permission-denied")
    assert "strategies.run_backtest" in said["detail"]
    algo = api_for(user_in_role("Algo Client"))
    for url in (BACKTESTS, f"{BACKTESTS}/{succeeded_run.pk}", "/api/v1/strategies"):
        problem(algo.get(url), 403, "permission-denied")
    problem(APIClient().get(BACKTESTS), 401, "not-authenticated")
    assert BacktestRun.objects.count() == 1


def test_the_list_is_paginated_and_shows_only_what_you_may_see(
    tara, tom, risk_manager, request_data, succeeded_run
):
    from strategies.services import backtest_request

    theirs = backtest_request(user=tom, data=request_data, enqueue=False)
    page = api_for(tara).get(BACKTESTS).json()
    assert [r["id"] for r in page["results"]] == [succeeded_run.pk]
    assert page["count"] == 1
    everyone = api_for(risk_manager).get(BACKTESTS, {"status": "queued"}).json()
    assert [r["id"] for r in everyone["results"]] == [theirs.pk]
    problem(api_for(tara).get(f"{BACKTESTS}/{theirs.pk}"), 404, "not-found")


def test_the_detail_has_progress_metrics_and_trades(tara, succeeded_run):
    got = api_for(tara).get(f"{BACKTESTS}/{succeeded_run.pk}").json()
    assert got["status"] == "succeeded"
    assert got["progress"] == {"done": 3, "total": 3, "percent": 100.0, "unit": "steps",
                               "message": "stored", "status": "succeeded"}  # fmt: skip
    assert got["metrics"]["sharpe"] is None
    assert got["metrics"]["num_trades"] == 1.0
    assert (got["bar_count"], got["trade_count"], got["code_version"]) == (60, 1, "v1.2.3-test")
    assert got["trades"][0]["entry_date"] == "2024-01-02"
    assert got["open_position"]["quantity"] == 10
    assert got["equity_url"] == f"{BACKTESTS}/{succeeded_run.pk}/equity"


def test_equity_data_has_one_date_equity_and_drawdown_per_bar(tara, succeeded_run):
    got = api_for(tara).get(f"{BACKTESTS}/{succeeded_run.pk}/equity").json()
    bars = bars_for(succeeded_run.instrument, "1d", succeeded_run.date_from, succeeded_run.date_to)
    assert got["id"] == succeeded_run.pk
    assert got["dates"] == list(bars.labels)  # day bars: the session's date in IST
    assert got["equity"] == succeeded_run.equity.tolist()
    assert len(got["drawdown"]) == 60
    assert max(got["drawdown"]) == 0.0


def test_equity_of_a_run_not_finished_is_a_conflict(tara, request_data):
    from strategies.services import backtest_request

    run = backtest_request(user=tara, data=request_data, enqueue=False)
    said = problem(api_for(tara).get(f"{BACKTESTS}/{run.pk}/equity"), 409, "conflict")
    assert "queued" in said["detail"]


def test_intraday_equity_dates_carry_the_ist_offset(tara, succeeded_run):
    from strategies.api import _ist_labels

    times = np.array(["2024-03-01T03:45:00", "2024-03-01T03:46:00"], dtype="datetime64[us]")
    assert _ist_labels(times, "1m") == ["2024-03-01T09:15:00+05:30", "2024-03-01T09:16:00+05:30"]
    assert _ist_labels(times, "1d") == ["2024-03-01", "2024-03-01"]


# --- end to end, with the real engine -----------------------------------------------


def test_a_backtest_runs_end_to_end_on_the_backtests_queue(
    tara, body, django_capture_on_commit_callbacks
):
    from strategies.base import strategy_make
    from strategies.charts import run_chart_png
    from strategies.engine import backtest

    api = api_for(tara)
    sma = {**body, "strategy": "sma_cross", "params": {"fast": 3, "slow": 8}}
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.post(BACKTESTS, sma, format="json")  # the task runs eagerly here
    assert answer.status_code == 202, answer.content
    got = api.get(answer["Location"]).json()
    assert got["status"] == "succeeded", got["error"]
    assert got["params"] == {"fast": 3, "slow": 8}
    run = BacktestRun.objects.get()
    bars = bars_for(run.instrument, "1d", run.date_from, run.date_to)
    direct = backtest(
        strategy_make("sma_cross", {"fast": 3, "slow": 8}), bars, quantity=10, cash=100000.0,
        commission_pct=0.05, slippage_bps=0.0, costs=None, periods_per_year=252,
    )  # fmt: skip
    assert np.array_equal(run.equity, direct.equity)
    assert run.equity[0] == 100000.0  # the cash: nothing fills at the first bar
    assert direct.trades  # the wave crosses: the test has a trade to compare
    assert [(t["entry_index"], t["exit_index"], t["pnl"]) for t in run.trades] == [
        (t.entry_index, t.exit_index, t.pnl) for t in direct.trades
    ]
    assert got["trade_count"] == len(direct.trades)
    assert got["metrics"] == pytest.approx(
        {k: None if v is None else float(v) for k, v in direct.metrics.items()}
    )
    equity = api.get(got["equity_url"]).json()
    assert len(equity["dates"]) == len(equity["equity"]) == len(bars) == got["bar_count"]
    assert equity["dates"][0] == "2024-01-01"
    assert run_chart_png(run).startswith(b"\x89PNG")


def test_indian_charges_cost_more_than_none(tara, body, django_capture_on_commit_callbacks):
    api = api_for(tara)
    runs = {}
    for costs in ("none", "india"):
        data = {**body, "strategy": "sma_cross", "params": {"fast": 3, "slow": 8},
                "commission_pct": "0", "costs": costs}  # fmt: skip
        with django_capture_on_commit_callbacks(execute=True):
            answer = api.post(BACKTESTS, data, format="json")
        runs[costs] = api.get(answer["Location"]).json()
    assert runs["india"]["status"] == runs["none"]["status"] == "succeeded"
    none, india = runs["none"]["metrics"], runs["india"]["metrics"]
    assert none["num_trades"] == india["num_trades"] > 0
    assert india["final_equity"] < none["final_equity"]  # STT, stamp duty, charges, GST


def test_a_strategy_of_two_instruments_needs_its_second_leg(tara, body):
    answer = api_for(tara).post(BACKTESTS, {**body, "strategy": "pairs", "params": {}},
                                  format="json")  # fmt: skip
    said = problem(answer, 400, "validation-error")
    [message] = said["errors"]["second_instrument"]
    assert "pairs trades two instruments: name the second leg" in message
    assert not BacktestRun.objects.exists()
