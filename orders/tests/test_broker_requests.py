"""Cancels and changes of an order at the broker are requests the broker answers after
commit, with no lock held: what the books say while it is pending, and after each answer."""

from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection

from compliance.models import AuditEvent
from orders.eod import orders_expire
from orders.execution import (
    execution_cancel,
    execution_modify,
    execution_submit,
    reconcile,
    requests_relay,
)
from orders.models import Order, PaperOrder
from orders.paper import PaperExchange, paper_match_tick, paper_on_quotes
from orders.services import (
    OrderPending,
    fill_apply,
    order_cancel,
    order_cancel_answered,
    order_modify,
    order_modify_answered,
    order_place,
)
from orders.tests.fixtures import RESTING_PRICE, assert_invariants, quote, request

pytestmark = pytest.mark.django_db
PRICE = RESTING_PRICE


class RecordingBroker(PaperExchange):
    """The paper exchange, noting each call and how many atomic blocks were open around it;
    it refuses cancels or changes when told to."""

    name = "recording"
    calls: list[tuple[str, int, int]] = []
    refuse = False

    def _note(self, call: str, order: Order) -> None:
        self.calls.append((call, order.pk, len(connection.atomic_blocks)))

    def submit(self, order):
        self._note("submit", order)
        return super().submit(order)

    def modify(self, order):
        self._note("modify", order)
        return False if self.refuse else super().modify(order)

    def cancel(self, order):
        self._note("cancel", order)
        return False if self.refuse else super().cancel(order)


@pytest.fixture
def broker(account, settings):
    settings.ORDERS_BROKER_ADAPTERS = {
        **settings.ORDERS_BROKER_ADAPTERS,
        "recording": f"{__name__}.RecordingBroker",
    }
    account.broker = "recording"
    account.save(update_fields=["broker"])
    RecordingBroker.calls, RecordingBroker.refuse = [], False
    return RecordingBroker


def actions(order: Order) -> list[str]:
    events = AuditEvent.objects.filter(object_type="orders.order", object_id=str(order.pk))
    return list(events.order_by("seq").values_list("action", flat=True))


def test_every_broker_call_runs_outside_any_transaction(broker, account, answered):
    outside = len(connection.atomic_blocks)  # the test's own
    with answered():
        order = order_place(account=account, request=request(order_type="LIMIT", price=PRICE)).order
    with answered():
        order_modify(order=order, price=Decimal("1405.00"))
    with answered():
        order_cancel(order=order)
    assert broker.calls == [
        ("submit", order.pk, outside),
        ("modify", order.pk, outside),
        ("cancel", order.pk, outside),
    ]
    order.refresh_from_db()
    assert (order.status, order.price, order.paper.status) == (
        "CANCELLED",
        Decimal("1405.00"),
        "cancelled",
    )


def test_a_refused_cancel_goes_back_to_work_with_its_funds(broker, resting, account, answered):
    broker.refuse = True
    with answered():
        pending = order_cancel(order=resting)
    assert pending.status == "CANCEL_PENDING"
    resting.refresh_from_db()
    assert (resting.status, resting.blocked_amount, resting.pending_from) == (
        "OPEN",
        Decimal("14000.00"),
        "",
    )
    assert actions(resting)[-2:] == ["order.cancel_requested", "order.cancel_refused"]
    assert_invariants(account)


def test_a_fill_while_the_cancel_is_pending_is_applied_then_the_rest_cancelled(resting, account):
    order_cancel(order=resting)  # not answered yet
    fill_apply(order=resting, broker_fill_id="F-1", quantity=4, price=PRICE)
    resting.refresh_from_db()
    assert (resting.status, resting.pending_from, resting.blocked_amount) == (
        "CANCEL_PENDING",
        "PARTIALLY_FILLED",
        Decimal("8400.00"),
    )
    assert execution_cancel(resting.pk) == "cancelled"
    resting.refresh_from_db()
    assert (resting.status, resting.filled_quantity, resting.blocked_amount) == ("CANCELLED", 4, 0)
    assert execution_cancel(resting.pk) == "no cancel pending"  # a redelivered task
    assert_invariants(account)


def test_a_cancel_too_late_leaves_the_order_filled(resting, account):
    order_cancel(order=resting)
    quote(bid="1399.00", ask="1399.50")  # marketable now: the exchange fills it all
    with mock.patch("orders.tasks.paper_match_tick.delay", side_effect=paper_match_tick):
        paper_on_quotes(sender=None, quotes={"NSE:INFY": quote(bid="1399.00", ask="1399.50")})
    resting.refresh_from_db()
    assert (resting.status, resting.filled_quantity, resting.blocked_amount) == ("COMPLETE", 10, 0)
    assert PaperExchange().cancel(resting) is False  # the broker's answer: too late
    order_cancel_answered(order=resting, cancelled=False)
    resting.refresh_from_db()
    assert resting.status == "COMPLETE"
    assert_invariants(account)


def test_a_change_blocks_the_larger_requirement_until_the_broker_applies_it(resting, account):
    pending = order_modify(order=resting, quantity=20)
    assert (pending.status, pending.quantity, pending.blocked_amount) == (
        "MODIFY_PENDING",
        10,
        Decimal("28000.00"),
    )
    assert_invariants(account)
    assert execution_modify(resting.pk) == "modified"
    resting.refresh_from_db()
    assert (resting.status, resting.quantity, resting.blocked_amount, resting.paper.quantity) == (
        "OPEN",
        20,
        Decimal("28000.00"),
        20,
    )
    assert execution_modify(resting.pk) == "no change pending"
    assert_invariants(account)


def test_a_refused_change_keeps_the_old_terms_and_funds(broker, resting, account, answered):
    broker.refuse = True
    with answered():
        order_modify(order=resting, quantity=20, price=Decimal("1390.00"))
    resting.refresh_from_db()
    assert (resting.status, resting.quantity, resting.price, resting.blocked_amount) == (
        "OPEN",
        10,
        PRICE,
        Decimal("14000.00"),
    )
    assert actions(resting)[-1] == "order.modify_refused"
    assert_invariants(account)


def test_a_second_change_waits_for_the_answer_to_the_first(resting):
    order_modify(order=resting, quantity=20)
    with pytest.raises(OrderPending, match="waiting for the broker's answer"):
        order_modify(order=resting, quantity=30)


def test_a_fill_beyond_the_old_quantity_proves_the_change_applied(resting, account):
    order_modify(order=resting, quantity=20)
    fill_apply(order=resting, broker_fill_id="F-1", quantity=15, price=PRICE)
    resting.refresh_from_db()
    # 20 at 1400.00 is 28000.00; 5 of the 20 are left to fill.
    assert (resting.status, resting.quantity, resting.blocked_amount) == (
        "PARTIALLY_FILLED",
        20,
        Decimal("7000.00"),
    )
    assert order_modify_answered(order=resting, applied=True).status == "PARTIALLY_FILLED"
    assert_invariants(account)


def test_a_cancel_supersedes_a_pending_change(resting, account):
    order_modify(order=resting, quantity=20)
    order_cancel(order=resting)
    assert execution_modify(resting.pk) == "no change pending"
    assert execution_cancel(resting.pk) == "cancelled"
    resting.refresh_from_db()
    assert (resting.status, resting.quantity, resting.blocked_amount) == ("CANCELLED", 10, 0)
    assert_invariants(account)


def test_a_change_applied_before_a_refused_cancel_stands(resting, account):
    order_modify(order=resting, quantity=20)
    order_cancel(order=resting)
    order_modify_answered(order=resting, applied=True)  # the broker had applied it
    order_cancel_answered(order=resting, cancelled=False)
    resting.refresh_from_db()
    assert (resting.status, resting.quantity, resting.blocked_amount) == (
        "OPEN",
        20,
        Decimal("28000.00"),
    )
    assert_invariants(account)


def test_each_answer_is_recorded_once(resting, account):
    order_cancel(order=resting)
    order_cancel_answered(order=resting, cancelled=True)
    ledger = account.ledger.count()
    order_cancel_answered(order=resting, cancelled=True)  # the relay's repeat
    order_cancel_answered(order=resting, cancelled=False)
    assert actions(resting).count("order.cancelled") == 1
    assert account.ledger.count() == ledger
    assert Order.objects.get(pk=resting.pk).status == "CANCELLED"
    assert_invariants(account)


def test_the_relay_sends_requests_whose_task_was_lost(resting, account):
    order_cancel(order=resting)  # its task never ran
    assert requests_relay(older_than_seconds=3600) == []
    assert requests_relay(older_than_seconds=0) == [resting.pk]  # runs inline here
    resting.refresh_from_db()
    assert (resting.status, resting.requested_at, resting.blocked_amount) == ("CANCELLED", None, 0)
    assert requests_relay(older_than_seconds=0) == []


def test_day_orders_at_the_broker_expire_once_it_confirms(resting, account):
    assert orders_expire(session_date=resting.session_date) == [resting.pk]
    resting.refresh_from_db()
    assert (resting.status, resting.pending_change["to"]) == ("CANCEL_PENDING", "EXPIRED")
    assert resting.blocked_amount == Decimal("14000.00")
    assert execution_cancel(resting.pk) == "cancelled"
    resting.refresh_from_db()
    assert (resting.status, resting.blocked_amount) == ("EXPIRED", 0)
    assert_invariants(account)


def test_an_order_cancelled_while_being_sent_is_withdrawn_at_the_broker(account):
    order = order_place(account=account, request=request(order_type="LIMIT", price=PRICE)).order
    send = PaperExchange.submit

    def cancelled_meanwhile(adapter, sent):
        with pytest.raises(OrderPending, match="answer to its submission"):
            order_modify(order=sent, quantity=20)
        assert order_cancel(order=sent).status == "CANCELLED"  # not at the broker: at once
        return send(adapter, sent)

    with mock.patch.object(PaperExchange, "submit", cancelled_meanwhile):
        assert execution_submit(order.pk).startswith("withdrawn")
    order.refresh_from_db()
    assert (order.status, order.blocked_amount, order.paper.status) == ("CANCELLED", 0, "cancelled")
    assert order.broker_order_id == order.paper.exchange_order_id
    assert execution_submit(order.pk) == "already sent"
    assert_invariants(account)


def test_reconciliation_cancels_at_the_broker_what_is_cancelled_here(resting):
    order_cancel(order=resting)
    order_cancel_answered(order=resting, cancelled=True)  # as if the withdrawal were lost
    PaperOrder.objects.filter(order=resting).update(status=PaperOrder.Status.WORKING)
    (found,) = reconcile()
    assert (found.order_id, found.ours, found.broker) == (resting.pk, "CANCELLED", "working")
    reconcile(repair=True)
    assert PaperOrder.objects.get(order=resting).status == "cancelled"
    assert reconcile() == []


def test_the_feed_hook_queues_one_matching_task_per_tick(account):
    infy, small = quote("INFY"), quote("SMALLCAP", bid="100.00", ask="100.05")
    with mock.patch("orders.tasks.paper_match_tick.delay") as queued:
        paper_on_quotes(sender=None, quotes={infy.instrument: infy, small.instrument: small})
    queued.assert_called_once_with(
        {infy.instrument: infy.timestamp.isoformat(), small.instrument: small.timestamp.isoformat()}
    )


def test_a_tick_superseded_by_a_newer_quote_is_left_to_the_newer_tick(resting):
    marketable = quote(bid="1399.00", ask="1399.50")
    newer = quote(bid="1450.00", ask="1450.05")  # cached before the first tick's task runs
    assert paper_match_tick({marketable.instrument: marketable.timestamp.isoformat()}) == 0
    assert paper_match_tick({newer.instrument: newer.timestamp.isoformat()}) == 0  # not marketable
    resting.refresh_from_db()
    assert resting.status == "OPEN"
    again = quote(bid="1399.00", ask="1399.50")
    assert paper_match_tick({again.instrument: again.timestamp.isoformat()}) == 1
    resting.refresh_from_db()
    assert (resting.status, resting.average_price) == ("COMPLETE", Decimal("1399.5000"))
