"""Orders API: contracts, the nine kinds of bad input, idempotency answers, who sees what."""

import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from compliance.models import AuditEvent, Client
from conftest import problem
from orders.models import LedgerEntry, Order, TradingAccount
from orders.tests.fixtures import quote

pytestmark = pytest.mark.django_db
BUY = {
    "account": "TS0001",
    "tradingsymbol": "INFY",
    "transaction_type": "BUY",
    "order_type": "MARKET",
    "product": "CNC",
    "quantity": 10,
}


@pytest.fixture
def submit(django_capture_on_commit_callbacks):
    def post(client, body, **headers):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/api/v1/orders", body, format="json", **headers)

    return post


def counts() -> tuple[int, int, int]:
    return Order.objects.count(), LedgerEntry.objects.count(), AuditEvent.objects.count()


def test_place_an_order(trader, submit):
    response = submit(trader, BUY)
    assert response.status_code == 201, response.content
    placed = response.json()
    assert (placed["status"], placed["account"]) == ("ACCEPTED", "TS0001")  # answered at commit
    order = trader.get(f"/api/v1/orders/{placed['order_id']}").json()  # submitted after the commit
    assert (order["status"], order["filled_quantity"], order["average_price"]) == (
        "COMPLETE",
        10,
        "1500.0500",
    )


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"quantity": 0}, "quantity", "Ensure this value is greater than or equal to 1."),
        ({"quantity": -5}, "quantity", "Ensure this value is greater than or equal to 1."),
        ({"order_type": "LIMIT", "price": "1500.03"}, "price", "1500.03 is not a multiple of the tick size 0.05"),
        ({"tradingsymbol": "NOSUCH"}, "tradingsymbol", "unknown instrument NSE:NOSUCH"),
        ({"order_type": "SL", "price": "1500.00"}, "trigger_price", "is required for SL orders"),
        ({"order_type": "LIMIT"}, "price", "is required for LIMIT orders"),
        ({"quantity": 10**12}, "quantity", "Ensure this value is less than or equal to 10000000."),
        ({"order_type": "LIMIT", "price": "1" * 30}, "price", "Ensure that there are no more than 12 digits in total."),
        ({"quantity": "ten"}, "quantity", "A valid integer is required."),
        ({"price": [1500]}, "price", "A valid number is required."),
        ({"product": "BTST"}, "product", '"BTST" is not a valid choice.'),
        ({"order_type": "ICEBERG"}, "order_type", '"ICEBERG" is not a valid choice.'),
        ({"status": "COMPLETE"}, "status", "is not a field you can set"),
        ({"algo_id": "ALGO123"}, "algo_id", "is not a field you can set"),
    ],
)  # fmt: skip
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(
    trader, submit, change, field, message
):
    before = counts()
    body = problem(submit(trader, {**BUY, **change}), 400, "validation-error")
    assert message in body["errors"][field], body
    assert counts() == before


def test_malformed_json_writes_nothing(trader):
    before = counts()
    response = trader.post("/api/v1/orders", "{'account': TS0001", content_type="application/json")
    problem(response, 400, "malformed-request")
    assert counts() == before


def test_idempotent_replay_and_mismatch(trader, submit):
    body = {**BUY, "client_order_id": "algo-7"}
    first = submit(trader, body)
    replay = submit(trader, body)
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.json()["order_id"] == first.json()["order_id"]
    mismatch = problem(submit(trader, {**body, "quantity": 11}), 422, "idempotency-mismatch")
    assert mismatch["order_id"] == first.json()["order_id"]
    assert Order.objects.count() == 1


def test_rejected_order_is_a_422_listing_every_reason(trader, submit, account):
    Client.objects.filter(pk=account.client_id).update(kyc_status="pending")
    body = problem(
        submit(trader, {**BUY, "transaction_type": "SELL", "quantity": 5}), 422, "order-rejected"
    )
    assert {r["code"] for r in body["rejections"]} == {"KYC_NOT_VERIFIED", "INSUFFICIENT_HOLDINGS"}
    holdings = next(r for r in body["rejections"] if r["code"] == "INSUFFICIENT_HOLDINGS")
    assert (holdings["limit"], holdings["value"]) == ("0", "5")
    assert Order.objects.get(pk=body["order_id"]).status == "REJECTED"


def test_modify_cancel_and_history(trader, submit, django_capture_on_commit_callbacks):
    order_id = submit(trader, {**BUY, "order_type": "LIMIT", "price": "1400.00"}).json()["order_id"]
    with django_capture_on_commit_callbacks(execute=True):  # the broker answers after commit
        changed = trader.patch(f"/api/v1/orders/{order_id}", {"price": "1410.00"}, format="json")
    # The answer is the request, as recorded: the old price stands until the broker applies it.
    assert changed.status_code == 200
    assert (changed.json()["status"], changed.json()["price"]) == ("MODIFY_PENDING", "1400.00")
    assert changed.json()["requested_change"] == {
        "quantity": 10,
        "price": "1410.00",
        "trigger_price": None,
    }
    shown = trader.get(f"/api/v1/orders/{order_id}").json()
    assert (shown["status"], shown["price"], shown["requested_change"]) == ("OPEN", "1410.00", None)
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = trader.delete(f"/api/v1/orders/{order_id}")
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "CANCEL_PENDING")
    assert trader.get(f"/api/v1/orders/{order_id}").json()["status"] == "CANCELLED"
    problem(trader.delete(f"/api/v1/orders/{order_id}"), 409, "order-not-working")
    history = trader.get(f"/api/v1/orders/{order_id}/history").json()
    assert [h["action"] for h in history] == [
        "order.accepted",
        "order.open",
        "order.modify_requested",
        "order.modified",
        "order.cancel_requested",
        "order.cancelled",
    ]
    assert history[-1]["before"] == {"status": "CANCEL_PENDING"}


def test_a_cancel_waits_for_the_broker_with_its_funds_blocked(trader, submit, account):
    order_id = submit(trader, {**BUY, "order_type": "LIMIT", "price": "1400.00"}).json()["order_id"]
    # No on_commit here: the broker is not asked, so the request stays pending.
    answer = trader.delete(f"/api/v1/orders/{order_id}")
    assert answer.json()["status"] == "CANCEL_PENDING"
    assert answer.json()["blocked_amount"] == "14000.00"
    assert trader.delete(f"/api/v1/orders/{order_id}").json()["status"] == "CANCEL_PENDING"
    problem(
        trader.patch(f"/api/v1/orders/{order_id}", {"price": "1410.00"}, format="json"),
        409,
        "order-not-working",
    )
    funds = trader.get("/api/v1/accounts/TS0001").json()["funds"]
    assert funds["blocked"] == "14000.00"


def test_trades_positions_holdings_ledger_and_funds(trader, submit):
    submit(trader, BUY)
    trade = trader.get("/api/v1/trades").json()["results"][0]
    assert (trade["quantity"], trade["price"], trade["charges"]["stt"]) == (10, "1500.05", "15.00")
    quote(bid="1520.00", ask="1520.05")
    position = trader.get("/api/v1/positions").json()[0]
    assert (position["quantity"], position["last_price"], position["unrealized_pnl"]) == (
        10,
        "1520.00",
        "199.50",
    )
    assert trader.get("/api/v1/holdings").json() == []
    ledger = trader.get("/api/v1/accounts/TS0001/ledger").json()["results"]
    account = trader.get("/api/v1/accounts/TS0001").json()
    assert Decimal(account["funds"]["cash"]) == sum(Decimal(e["amount"]) for e in ledger)
    assert account["funds"]["blocked"] == "0.00"


@pytest.fixture
def stranger(api_client, account, django_user_model):
    """A trader of another client's account."""
    other = TradingAccount.objects.create(
        code="TS0099",
        client=Client.objects.create(name="Other", pan="ABCPO9999Z", kyc_status="verified"),
    )
    user = django_user_model.objects.create_user("other")
    user.groups.add(Group.objects.get(name="Trader"))
    other.users.add(user)
    return user


def test_a_user_cannot_see_or_touch_another_accounts_orders(trader, submit, stranger, api_client):
    order_id = submit(trader, {**BUY, "order_type": "LIMIT", "price": "1400.00"}).json()["order_id"]
    api_client.force_authenticate(stranger)
    problem(api_client.get(f"/api/v1/orders/{order_id}"), 404, "not-found")
    problem(api_client.delete(f"/api/v1/orders/{order_id}"), 404, "not-found")
    problem(
        api_client.patch(f"/api/v1/orders/{order_id}", {"price": "1.00"}, format="json"),
        404,
        "not-found",
    )
    assert api_client.get("/api/v1/orders").json()["results"] == []
    problem(api_client.post("/api/v1/orders", BUY, format="json"), 404, "not-found")
    assert Order.objects.get(pk=order_id).status == "OPEN"


def test_risk_manager_sees_all_and_may_cancel_any(trader, submit, api_client, user_in_role):
    order_id = submit(trader, {**BUY, "order_type": "LIMIT", "price": "1400.00"}).json()["order_id"]
    api_client.force_authenticate(user_in_role("Risk Manager"))
    assert [o["order_id"] for o in api_client.get("/api/v1/orders").json()["results"]] == [order_id]
    assert api_client.delete(f"/api/v1/orders/{order_id}").json()["status"] == "CANCEL_PENDING"
    problem(api_client.post("/api/v1/orders", BUY, format="json"), 403, "permission-denied")


def test_an_auditor_reads_but_cannot_trade(api_client, user_in_role, account):
    api_client.force_authenticate(user_in_role("Auditor"))
    assert api_client.get("/api/v1/accounts").json()["results"][0]["code"] == "TS0001"
    problem(api_client.post("/api/v1/orders", BUY, format="json"), 403, "permission-denied")


def test_orders_need_authentication(api_client, account):
    problem(api_client.get("/api/v1/orders"), 401, "not-authenticated")
    problem(
        api_client.post("/api/v1/orders", json.dumps(BUY), content_type="application/json"),
        401,
        "not-authenticated",
    )
