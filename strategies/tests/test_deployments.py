"""Live deployments: the same day of bars replayed through the live path and through the
backtest engine makes the same orders at the same bars; orders go through risk (a kill
switch on the algo ID rejects them and pauses the deployment); steps are idempotent; bad
requests are refused naming the problem; every move is audited."""

import itertools
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import numpy as np
import pytest
import time_machine

from compliance.models import AuditEvent
from marketdata.bar_builder import bars_closed
from marketdata.calendar import IST
from marketdata.models import Bar
from orders.models import Order
from risk.choices import KillSwitchLevel
from risk.services import kill_switch_trip
from strategies.base import strategy_make
from strategies.engine import RiskSizing, backtest
from strategies.live import services
from strategies.live.models import DeploymentDecision, StrategyDeployment
from strategies.live.services import (
    DeploymentRefused,
    deployment_create,
    deployment_pause,
    deployment_start,
    deployment_step,
    deployment_stop,
)
from strategies.selectors import bars_for

pytestmark = pytest.mark.django_db
PARAMS = {"fast": 5, "slow": 20}
DAY = (2026, 12, 2)


def session_bars(instrument, n=375) -> list[Bar]:
    """A day of one-minute bars whose SMA(5) and SMA(20) cross several times, clear of
    exact ties (an irrational-period wave plus a drift, on the paisa grid)."""
    from datetime import datetime

    open_at = datetime(*DAY, 9, 15, tzinfo=IST)
    t = np.arange(n)
    close = 1400 + 12 * np.sin(t / 9.1) + 0.013 * t + 0.37 * np.sin(t / 2.3)
    close = np.round(close, 2)
    opens = np.round(np.concatenate([[close[0]], close[:-1]]) + 0.05, 2)
    bars = [
        Bar(
            instrument=instrument, interval="1m", start=open_at + timedelta(minutes=i),
            open=Decimal(str(opens[i])), high=Decimal(str(max(opens[i], close[i]) + 0.5)),
            low=Decimal(str(min(opens[i], close[i]) - 0.5)), close=Decimal(str(close[i])),
            volume=1000 + i,
        )
        for i in range(n)
    ]  # fmt: skip
    Bar.objects.bulk_create(bars)
    return bars


@pytest.fixture
def quant(user_in_role):
    return user_in_role("Quant", "priya_quant")


@pytest.fixture
def day(market, account):
    return session_bars(market["INFY"])


def deploy(quant, account, market, bars, **extra) -> StrategyDeployment:
    deployment = deployment_create(
        actor=quant, strategy="sma_cross", params=PARAMS, account=account,
        instrument=market["INFY"], quantity=10, capital=Decimal("100000"), algo_id="ALGO-SMA",
        history_from=bars[0].start, **extra,
    )  # fmt: skip
    return deployment_start(deployment, actor=quant)


def step_through(deployment, bars) -> list[DeploymentDecision]:
    decided = []
    for bar in bars:
        with time_machine.travel(bar.start + timedelta(seconds=60, milliseconds=5), tick=False):
            decision = deployment_step(deployment.pk, through=bar.start)
        if decision is not None:
            decided.append(decision)
    return decided


def test_the_live_path_makes_the_backtests_orders_at_the_same_bars(quant, account, market, day):
    deployment = deploy(quant, account, market, day)
    decided = step_through(deployment, day)
    assert len(decided) == len(day) - 1  # one per closed bar from the second (two bars at least)
    index = {bar.start: i for i, bar in enumerate(day)}
    live = [
        (index[d.bar_start], Order.objects.get(pk=d.order_ids[0]).transaction_type)
        for d in decided
        if d.outcome == "placed"
    ]
    assert all(len(d.order_ids) == 1 for d in decided if d.outcome == "placed")

    all_bars = bars_for(market["INFY"], "1m", day[0].start, day[-1].start)
    result = backtest(strategy_make("sma_cross", PARAMS), all_bars, quantity=10)
    expected = sorted(
        [(t.entry_index - 1, "BUY") for t in result.trades]
        + [(t.exit_index - 1, "SELL") for t in result.trades]
        + ([(result.open_position["entry_index"] - 1, "BUY")] if result.open_position else [])
    )
    last_bar_order = [
        o for o in live if o[0] == len(day) - 1
    ]  # decided, never filled in a backtest
    assert sorted(o for o in live if o[0] != len(day) - 1) == expected
    assert len(expected) >= 6, "the day must cross several times to prove anything"
    orders = Order.objects.filter(algo_id="ALGO-SMA")
    assert orders.count() == len(live) == len(expected) + len(last_bar_order)
    assert set(orders.values_list("quantity", flat=True)) == {10}
    deployment.refresh_from_db()
    assert deployment.last_bar == day[-1].start


def first_entry(market, day) -> int:
    """The bar whose close the strategy first goes long on."""
    bars = bars_for(market["INFY"], "1m", day[0].start, day[-1].start)
    return int(np.flatnonzero(strategy_make("sma_cross", PARAMS).targets(bars))[0])


def test_a_kill_switch_on_the_algo_id_rejects_its_order_and_pauses_it(
    quant, account, market, day, risk_managers
):
    first = first_entry(market, day)
    deployment = deploy(quant, account, market, day)
    kill_switch_trip(level=KillSwitchLevel.ALGO, algo_id="ALGO-SMA", reason="runaway algo",
                     actor=risk_managers[0])  # fmt: skip
    decided = step_through(deployment, day[: first + 1])
    assert [d.outcome for d in decided] == ["hold"] * (first - 1) + ["rejected"]
    rejected = decided[-1]
    assert Order.objects.get(pk=rejected.order_ids[0]).status == "REJECTED"
    assert rejected.message  # the kill switch's own words
    deployment.refresh_from_db()
    assert deployment.status == "paused"
    assert deployment.status_reason.startswith("kill switch")
    assert deployment.targets == [0]  # nothing held: the order never went out
    assert step_through(deployment, day[first + 1 :]) == []  # paused: no more decisions
    assert AuditEvent.objects.filter(
        action="deployment.paused", object_id=str(deployment.pk)
    ).exists()


def test_a_step_is_decided_once_and_a_retried_step_sends_its_order_once(
    quant, account, market, day
):
    first = first_entry(market, day)
    deployment = deploy(quant, account, market, day)
    step_through(deployment, day[:first])
    bar = day[first]
    with (
        time_machine.travel(bar.start + timedelta(seconds=61), tick=False),
        mock.patch.object(services, "_record", side_effect=RuntimeError("worker killed")),
        pytest.raises(RuntimeError),
    ):
        deployment_step(deployment.pk, through=bar.start)  # the order went out, unrecorded
    assert DeploymentDecision.objects.get(deployment=deployment, bar_start=bar.start).outcome == (
        "pending"
    )
    step_through(deployment, [bar, bar])  # redelivered, twice
    decision = DeploymentDecision.objects.get(deployment=deployment, bar_start=bar.start)
    assert decision.outcome == "placed"
    assert Order.objects.filter(algo_id="ALGO-SMA").count() == 1
    deployment.refresh_from_db()
    assert deployment.targets == [1]


def test_bad_requests_are_refused_naming_the_problem(quant, account, market, day, user_in_role):
    make = {
        "actor": quant, "strategy": "sma_cross", "params": PARAMS, "account": account,
        "instrument": market["INFY"], "quantity": 10, "capital": Decimal("100000"),
        "algo_id": "ALGO-X", "history_from": day[0].start,
    }  # fmt: skip
    with pytest.raises(DeploymentRefused, match="no strategy 'nope'"):
        deployment_create(**{**make, "strategy": "nope"})
    with pytest.raises(DeploymentRefused, match="has no parameter speed"):
        deployment_create(**{**make, "params": {"speed": 3}})
    with pytest.raises(DeploymentRefused, match="needs a live broker"):
        deployment_create(**{**make, "mode": "live"})
    with pytest.raises(DeploymentRefused, match="trades 1 instrument"):
        deployment_create(**{**make, "second_instrument": market["SMALLCAP"]})
    deployment_create(**make)
    with pytest.raises(DeploymentRefused, match="'ALGO-X' is already deployed on account"):
        deployment_create(**make)
    with pytest.raises(PermissionError, match="may not deploy"):
        deployment_create(**{**make, "actor": user_in_role("Trader", "tina"), "algo_id": "Y"})


def test_moves_are_audited_and_a_stopped_deployment_stays_stopped(quant, account, market, day):
    deployment = deploy(quant, account, market, day)
    deployment = deployment_pause(deployment, actor=quant, reason="lunch")
    deployment = deployment_start(deployment, actor=quant)
    deployment = deployment_stop(deployment, actor=quant, reason="done")
    with pytest.raises(DeploymentRefused, match="is stopped: it cannot become running"):
        deployment_start(deployment, actor=quant)
    actions = list(
        AuditEvent.objects.filter(object_id=str(deployment.pk), action__startswith="deployment.")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["deployment.created", "deployment.running", "deployment.paused",
                       "deployment.running", "deployment.stopped"]  # fmt: skip


def test_a_closed_minute_queues_a_step_of_each_running_deployment(
    quant, account, market, day, django_capture_on_commit_callbacks
):
    deployment = deploy(quant, account, market, day)
    with (
        mock.patch("strategies.live.tasks.deployment_step_task.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        bars_closed.send(sender=None, start=day[3].start, instrument_ids=[market["INFY"].pk])
        bars_closed.send(sender=None, start=day[3].start, instrument_ids=[market["SMALLCAP"].pk])
    delay.assert_called_once_with(deployment.pk, day[3].start.isoformat())


DEPLOYMENTS = "/admin/strategies/strategydeployment/"


def test_the_admin_deploys_starts_and_stops_through_the_services_and_never_deletes(
    client, otp_login, quant, account, market, day
):
    otp_login(client, quant)
    posted = {
        "strategy": "sma_cross", "params": '{"fast": 5, "slow": 20}', "account": account.pk,
        "sizing": "fixed",
        "instrument": market["INFY"].pk, "product": "MIS", "quantity": 10, "capital": "100000",
        "algo_id": "ALGO-ADMIN", "mode": "paper",
        "history_from_0": day[0].start.astimezone(IST).strftime("%Y-%m-%d"),
        "history_from_1": day[0].start.astimezone(IST).strftime("%H:%M:%S"),
    }  # fmt: skip
    refused = client.post(f"{DEPLOYMENTS}add/", {**posted, "params": '{"speed": 1}'})
    assert refused.status_code == 200
    assert "has no parameter speed" in refused.content.decode()
    assert not StrategyDeployment.objects.exists()

    answer = client.post(f"{DEPLOYMENTS}add/", posted)
    assert answer.status_code == 302, answer.context["adminform"].form.errors
    deployment = StrategyDeployment.objects.get(algo_id="ALGO-ADMIN")
    assert (deployment.params, deployment.status) == ({"fast": 5, "slow": 20}, "ready")
    assert AuditEvent.objects.filter(action="deployment.created", object_id=str(deployment.pk))

    client.post(DEPLOYMENTS, {"action": "start", "_selected_action": [deployment.pk]})
    deployment.refresh_from_db()
    assert deployment.status == "running"
    step_through(deployment, day[:30])
    page = client.get(f"{DEPLOYMENTS}{deployment.pk}/change/")
    assert page.status_code == 200
    assert page.content.decode().count("hold") >= 20  # its decisions, read-only
    client.post(DEPLOYMENTS, {"action": "stop", "_selected_action": [deployment.pk]})
    deployment.refresh_from_db()
    assert deployment.status == "stopped"
    assert client.get(f"{DEPLOYMENTS}{deployment.pk}/delete/").status_code == 403
    answer = client.post(
        DEPLOYMENTS, {"action": "delete_selected", "_selected_action": [deployment.pk]}
    )
    assert StrategyDeployment.objects.filter(pk=deployment.pk).exists()


def test_a_risk_manager_may_look_but_not_deploy(
    client, otp_login, user_in_role, quant, account, market, day
):
    deploy(quant, account, market, day)
    risk = user_in_role("Risk Manager", "rita_rm")
    otp_login(client, risk)
    assert client.get(DEPLOYMENTS).status_code == 200
    assert client.get(f"{DEPLOYMENTS}add/").status_code == 403


def test_a_risk_sized_deployment_sizes_its_entries_as_the_engine_and_exits_them_whole(
    quant, account, market, day
):
    deployment = deploy(
        quant, account, market, day, sizing="risk", risk_pct=Decimal("0.2"), stop_atr=Decimal("3")
    )
    decided = step_through(deployment, day)
    placed = [d for d in decided if d.outcome == "placed"]
    assert placed, {(d.outcome, d.message) for d in decided}
    orders = [Order.objects.get(pk=d.order_ids[0]) for d in placed]
    all_bars = bars_for(market["INFY"], "1m", day[0].start, day[-1].start)
    result = backtest(
        strategy_make("sma_cross", PARAMS), all_bars, cash=100_000.0,
        sizing=RiskSizing(risk_pct=0.2, stop_atr=3),
    )  # fmt: skip
    # The first entry is sized from the capital alone, as the engine sizes it from its cash.
    assert (orders[0].transaction_type, orders[0].quantity) == ("BUY", result.trades[0].quantity)
    assert orders[0].quantity != 10  # not the fixed quantity
    # Each exit sells what its entry bought.
    for entry, exit_ in itertools.pairwise(orders):
        if entry.transaction_type == "BUY":
            assert (exit_.transaction_type, exit_.quantity) == ("SELL", entry.quantity)
    deployment.refresh_from_db()
    assert deployment.positions == [
        orders[-1].quantity if orders[-1].transaction_type == "BUY" else 0
    ]


def test_risk_sizing_equity_counts_the_fills_of_its_own_orders(quant, account, market, day):
    deployment = deploy(quant, account, market, day, sizing="risk")
    assert services._equity(deployment, 1400.0) == 100_000.0  # nothing filled yet
    fills = [("BUY", 10, Decimal("1390.00"), Decimal("3.50"))]
    with mock.patch("orders.models.Fill.objects.filter") as found:
        found.return_value.values_list.return_value = fills
        assert services._equity(deployment, 1400.0) == pytest.approx(
            100_000 - 13_900 - 3.5 + 10 * 1400
        )
        found.assert_called_once_with(order__account=account, order__tag=f"dep{deployment.pk}")


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        ({"sizing": "kelly"}, "sizing 'kelly'"),
        ({"risk_pct": Decimal("2")}, "for risk sizing"),
        ({"sizing": "risk", "risk_pct": Decimal("0")}, "must be above 0"),
        ({"sizing": "risk", "stop_atr": Decimal("500")}, "at most 100"),
    ],
)
def test_bad_sizing_of_a_deployment_is_refused(quant, account, market, day, extra, said):
    with pytest.raises(DeploymentRefused, match=said):
        deploy(quant, account, market, day, **extra)
    assert not StrategyDeployment.objects.exists()
