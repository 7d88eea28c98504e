"""A broker that refuses an order at submission: the order is REJECTED with the broker's
reason and its funds released, once, however often the submission runs."""

from decimal import Decimal

import pytest

from orders.execution import BrokerOrderState, execution_submit
from orders.models import Order, OrderOutbox
from orders.services import order_cancel, order_place
from orders.tests.fixtures import assert_invariants, request
from orders.tests.test_broker_requests import actions

pytestmark = pytest.mark.django_db
PRICE = Decimal("1400.00")


class RejectingBroker:
    """A broker that refuses every order, as a live one refuses one outside its price band."""

    name = "rejecting"
    submitted: list[int] = []

    def submit(self, order: Order) -> BrokerOrderState:
        self.submitted.append(order.pk)
        return BrokerOrderState(f"R{order.pk}", "rejected", 0, "price outside the circuit band")

    def cancel(self, order: Order) -> bool:
        raise AssertionError("a rejected order is never withdrawn")


@pytest.fixture
def rejecting(account, settings):
    settings.ORDERS_BROKER_ADAPTERS = {
        **settings.ORDERS_BROKER_ADAPTERS,
        "rejecting": f"{__name__}.RejectingBroker",
    }
    account.broker = "rejecting"
    account.save(update_fields=["broker"])
    RejectingBroker.submitted = []
    return RejectingBroker


def _accepted(account) -> Order:
    order = order_place(
        account=account, request=request(order_type="LIMIT", price=PRICE, quantity=10)
    ).order  # its submission task is left on the commit hooks, not run
    assert (order.status, order.blocked_amount) == ("ACCEPTED", Decimal("14000.00"))
    return order


def test_a_rejection_at_the_broker_rejects_the_order_and_frees_its_funds(rejecting, account):
    order = _accepted(account)
    outcome = execution_submit(order.pk)
    assert outcome == "rejected by the broker: price outside the circuit band"
    order.refresh_from_db()
    account.refresh_from_db()
    assert (order.status, order.blocked_amount, account.blocked) == (
        "REJECTED",
        Decimal("0.00"),
        Decimal("0.00"),
    )
    assert order.broker_order_id == f"R{order.pk}"
    assert order.rejection_reasons == [
        {"code": "broker_rejected", "message": "price outside the circuit band"}
    ]
    assert actions(order) == ["order.accepted", "order.rejected"]
    assert OrderOutbox.objects.get(order=order).sent_at is not None
    assert_invariants(account)


def test_a_repeated_submission_records_the_rejection_once(rejecting, account):
    order = _accepted(account)
    execution_submit(order.pk)
    assert execution_submit(order.pk) == "already sent"
    assert rejecting.submitted == [order.pk]
    assert actions(order) == ["order.accepted", "order.rejected"]
    assert_invariants(account)


def test_an_order_cancelled_while_sent_stays_cancelled_when_the_broker_rejects(
    rejecting, account, monkeypatch
):
    order = _accepted(account)

    def cancelled_meanwhile(self, sent):
        order_cancel(order=Order.objects.get(pk=sent.pk))  # not at the broker yet: at once
        return BrokerOrderState(f"R{sent.pk}", "rejected", 0, "lot size")

    monkeypatch.setattr(RejectingBroker, "submit", cancelled_meanwhile)
    assert execution_submit(order.pk) == "rejected by the broker: lot size"
    order.refresh_from_db()
    assert (order.status, order.blocked_amount) == ("CANCELLED", Decimal("0.00"))
    assert actions(order) == ["order.accepted", "order.cancelled"]
    assert_invariants(account)
