"""Risk API: four-eyes changes, kill switches, what-if, position sizing."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orders.models import Order
from risk.models import RiskLimit
from risk.sizing import position_size

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


@pytest.fixture
def rina(api_client, risk_managers):
    api_client.force_authenticate(risk_managers[0])
    return api_client


def test_propose_then_another_manager_approves(rina, risk_managers, account, api_client):
    from rest_framework.test import APIClient

    proposed = rina.post(
        "/api/v1/risk/limit-changes",
        {
            "scope": "account",
            "account": "TS0001",
            "kind": "max_order_quantity",
            "value": "25",
            "reason": "new desk",
        },
        format="json",
    )
    assert proposed.status_code == 201, proposed.content
    change_id = proposed.json()["id"]
    self_approval = rina.post(f"/api/v1/risk/limit-changes/{change_id}/approve")
    assert self_approval.status_code == 403
    assert self_approval["Content-Type"] == PROBLEM
    assert "second risk manager" in self_approval.json()["detail"]
    ravi = APIClient()
    ravi.force_authenticate(risk_managers[1])
    approved = ravi.post(f"/api/v1/risk/limit-changes/{change_id}/approve").json()
    assert (approved["status"], approved["decided_by"]) == ("approved", "ravi")
    limits = ravi.get("/api/v1/risk/limits").json()["results"]
    assert any(row["kind"] == "max_order_quantity" and row["value"] == "25.00" for row in limits)
    again = ravi.post(f"/api/v1/risk/limit-changes/{change_id}/reject")
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"scope": "account", "kind": "max_order_quantity", "value": "5", "reason": "x"},
            "account",
        ),
        ({"scope": "firm", "kind": "max_order_quantity", "value": "-1", "reason": "x"}, "value"),
        (
            {"scope": "firm", "kind": "max_exposure_of_everything", "value": "1", "reason": "x"},
            "kind",
        ),
        ({"scope": "planet", "kind": "max_order_quantity", "value": "1", "reason": "x"}, "scope"),
    ],
)
def test_bad_proposals_name_the_field(rina, body, field):
    response = rina.post("/api/v1/risk/limit-changes", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_a_trader_can_neither_propose_nor_approve(api_client, user_in_role):
    api_client.force_authenticate(user_in_role("Trader"))
    body = {"scope": "firm", "kind": "max_order_quantity", "value": "1", "reason": "x"}
    assert api_client.post("/api/v1/risk/limit-changes", body, format="json").status_code == 403
    assert api_client.post("/api/v1/risk/limit-changes/1/approve").status_code == 403
    assert not RiskLimit.objects.filter(kind="max_order_quantity").exists()


def test_trip_and_reset_a_kill_switch_over_the_api(
    rina, risk_managers, account, django_capture_on_commit_callbacks
):
    from rest_framework.test import APIClient

    from orders.services import order_place
    from orders.tests.fixtures import request

    with django_capture_on_commit_callbacks(execute=True):
        resting = order_place(
            account=account, request=request(order_type="LIMIT", price=Decimal("1400.00"))
        ).order
    with django_capture_on_commit_callbacks(execute=True):  # the broker confirms the cancel
        tripped = rina.post(
            "/api/v1/risk/kill-switches",
            {"level": "account", "account": "TS0001", "reason": "runaway"},
            format="json",
        ).json()
    assert tripped["cancelled_orders"] == [resting.pk]
    assert Order.objects.get(pk=resting.pk).status == "CANCELLED"
    switch_id = tripped["kill_switch"]["id"]
    assert rina.post(f"/api/v1/risk/kill-switches/{switch_id}/reset").status_code == 403
    ravi = APIClient()
    ravi.force_authenticate(risk_managers[1])
    assert ravi.post(f"/api/v1/risk/kill-switches/{switch_id}/reset").json()["active"] is False
    missing = rina.post(
        "/api/v1/risk/kill-switches", {"level": "algo", "reason": "x"}, format="json"
    )
    assert missing.json()["errors"] == {"algo_id": ["is required for a algo kill switch"]}


def test_what_if_runs_the_checks_and_writes_nothing(rina, account, set_limit):
    from risk.choices import LimitKind, Scope

    set_limit(Scope.ACCOUNT, LimitKind.MAX_ORDER_QUANTITY, Decimal(5), account=account)
    body = {
        "account": "TS0001",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "order_type": "MARKET",
        "product": "CNC",
        "quantity": 6,
    }
    answer = rina.post("/api/v1/risk/what-if", body, format="json").json()
    assert answer["would_accept"] is False
    assert [r["code"] for r in answer["rejections"]] == ["MAX_ORDER_QUANTITY"]
    assert answer["required_funds"] == "9000.30"
    assert (
        rina.post("/api/v1/risk/what-if", {**body, "quantity": 5}, format="json").json()[
            "would_accept"
        ]
        is True
    )
    assert Order.objects.count() == 0


def test_position_size_endpoint(rina):
    body = {
        "equity": "1000000",
        "risk_pct": "2",
        "entry": "1500.00",
        "stop": "1470.00",
        "lot_size": 1,
    }
    assert rina.post("/api/v1/risk/position-size", body, format="json").json()["quantity"] == 666
    same = rina.post("/api/v1/risk/position-size", {**body, "stop": "1500.00"}, format="json")
    assert same.json()["errors"] == {"stop": ["the stop must differ from the entry"]}


@given(
    equity=st.integers(1_000, 10**9).map(Decimal),
    risk_pct=st.integers(1, 1000).map(lambda n: Decimal(n) / 100),
    entry=st.integers(100, 10**6).map(lambda n: Decimal(n) / 20),
    distance=st.integers(1, 2000).map(lambda n: Decimal(n) / 20),
    lot=st.integers(1, 100),
)
def test_position_size_spends_the_risk_budget_and_no_more(equity, risk_pct, entry, distance, lot):
    stop = entry - distance if entry - distance > 0 else entry + distance
    quantity = position_size(equity=equity, risk_pct=risk_pct, entry=entry, stop=stop, lot_size=lot)
    budget = equity * risk_pct / 100
    assert quantity % lot == 0
    assert quantity * abs(entry - stop) <= budget
    assert (quantity + lot) * abs(entry - stop) > budget


def test_null_targets_are_read_as_absent(rina):
    body = {
        "scope": "firm",
        "kind": "max_order_quantity",
        "value": "5",
        "reason": "x",
        "account": None,
        "tradingsymbol": None,
    }
    assert rina.post("/api/v1/risk/limit-changes", body, format="json").status_code == 201
    trip = {"level": "global", "reason": "x", "account": None, "tradingsymbol": None}
    assert rina.post("/api/v1/risk/kill-switches", trip, format="json").status_code == 201


def test_a_modification_is_held_to_the_limits_an_order_is(trader, account, set_limit):
    from risk.choices import LimitKind, Scope

    set_limit(Scope.ACCOUNT, LimitKind.MAX_ORDER_QUANTITY, Decimal(5), account=account)
    body = {"account": "TS0001", "tradingsymbol": "INFY", "transaction_type": "BUY",
            "order_type": "LIMIT", "product": "CNC", "quantity": 5, "price": "1400.00"}  # fmt: skip
    order = trader.post("/api/v1/orders", body, format="json").json()
    grown = trader.patch(f"/api/v1/orders/{order['order_id']}", {"quantity": 500}, format="json")
    assert grown.status_code == 422
    assert grown.json()["rejections"][0]["code"] == "MAX_ORDER_QUANTITY"
    assert Order.objects.get(pk=order["order_id"]).quantity == 5
    assert (
        trader.patch(
            f"/api/v1/orders/{order['order_id']}", {"quantity": 4}, format="json"
        ).status_code
        == 200
    )
