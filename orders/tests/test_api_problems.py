"""What the orders API answers when it cannot do what was asked: the status, the problem
type, and a detail worded for what was tried (issue 10)."""

import pytest

from conftest import problem
from orders.models import Order

pytestmark = pytest.mark.django_db
RESTING = {
    "account": "TS0001",
    "tradingsymbol": "INFY",
    "transaction_type": "BUY",
    "order_type": "LIMIT",
    "product": "CNC",
    "quantity": 2,
    "price": "1400.00",
}


@pytest.fixture
def cancelled(trader, django_capture_on_commit_callbacks) -> int:
    with django_capture_on_commit_callbacks(execute=True):
        placed = trader.post("/api/v1/orders", RESTING, format="json")
    order_id = placed.json()["order_id"]
    with django_capture_on_commit_callbacks(execute=True):  # the broker confirms after commit
        assert trader.delete(f"/api/v1/orders/{order_id}").json()["status"] == "CANCEL_PENDING"
    assert Order.objects.get(pk=order_id).status == "CANCELLED"
    return order_id


def test_cancelling_a_cancelled_order_is_409_saying_so(trader, cancelled):
    body = problem(trader.delete(f"/api/v1/orders/{cancelled}"), 409, "order-not-working")
    assert body["detail"] == f"Order {cancelled} is cancelled and cannot be cancelled."


def test_modifying_a_cancelled_order_is_409_saying_so(trader, cancelled):
    answer = trader.patch(f"/api/v1/orders/{cancelled}", {"quantity": 3}, format="json")
    body = problem(answer, 409, "order-not-working")
    assert body["detail"] == f"Order {cancelled} is cancelled and cannot be modified."
    assert Order.objects.get(pk=cancelled).quantity == 2


def test_an_unknown_account_is_named_not_a_bare_not_found(trader):
    answer = trader.post("/api/v1/orders", {**RESTING, "account": "TS0009"}, format="json")
    body = problem(answer, 404, "not-found")
    assert body["detail"] == "No account TS0009 that you may act on."
    assert not Order.objects.exists()
    seen = problem(trader.get("/api/v1/accounts/TS0009"), 404, "not-found")
    assert seen["detail"] == "No account TS0009 that you may see."
    what_if = trader.post("/api/v1/risk/what-if", {**RESTING, "account": "TS0009"}, format="json")
    assert problem(what_if, 404, "not-found")["detail"] == "No account TS0009 that you may see."


def test_an_unknown_order_is_named(trader, account):
    for answer in (
        trader.get("/api/v1/orders/999999"),
        trader.delete("/api/v1/orders/999999"),
        trader.get("/api/v1/orders/999999/history"),
    ):
        assert problem(answer, 404, "not-found")["detail"] == "No order 999999 that you may see."


@pytest.mark.parametrize("page", ["0", "-1", "2", "two"])
def test_a_page_out_of_range_is_a_400_on_the_page_field(trader, account, page):
    body = problem(trader.get("/api/v1/orders", {"page": page}), 400, "validation-error")
    assert list(body["errors"]) == ["page"]
    assert body["detail"].startswith("page: ")
