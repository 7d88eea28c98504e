"""Execution: broker adapters, idempotent submission, the outbox relay, and reconciliation.

An accepted order and its outbox row commit together. ``execution_submit`` then hands the
order to its account's broker adapter, at least once; adapters are idempotent per order,
so a repeat (a redelivered task, the relay) never sends it twice. The relay re-sends any
outbox row that was not marked sent, so a lost task never loses an order.
"""

from dataclasses import dataclass
from typing import Protocol

from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from orders import locks
from orders.choices import OrderStatus
from orders.models import Order, OrderOutbox, TradingAccount

ADAPTERS = {"paper": "orders.paper.PaperExchange"}


@dataclass(frozen=True)
class BrokerOrderState:
    broker_order_id: str
    status: str  # "working", "filled", "cancelled"
    filled_quantity: int


class BrokerAdapter(Protocol):
    name: str

    def submit(self, order: Order) -> BrokerOrderState:
        """Send ``order``; sending the same order again returns its existing state."""

    def modify(self, order: Order) -> None: ...

    def cancel(self, order: Order) -> None: ...

    def status(self, order: Order) -> BrokerOrderState | None:
        """What the broker holds for ``order``, or None if it never received it."""


class TransientBrokerError(RuntimeError):
    """The broker could not be reached or answered busy: retry later."""


def adapter_for(account: TradingAccount) -> BrokerAdapter:
    if account.broker not in ADAPTERS:
        raise LookupError(f"account {account.code} uses unknown broker adapter {account.broker!r}")
    return import_string(ADAPTERS[account.broker])()


def execution_submit(order_id: int) -> str:
    """Submit one accepted order to its broker, once. Returns what happened, for the task result."""
    from orders.services import order_transition

    with transaction.atomic():
        outbox = locks.outbox(order_id)
        if outbox is None or outbox.sent_at:
            return "already sent"
        order = Order.objects.select_related("account", "instrument").get(pk=order_id)
        if order.status not in (OrderStatus.ACCEPTED, OrderStatus.AMO):
            outbox.sent_at = timezone.now()
            outbox.save(update_fields=["sent_at"])
            return f"not sent: order is {order.status}"
        if outbox.not_before > timezone.now():
            return "waiting for the open"
        outbox.attempts += 1
        outbox.save(update_fields=["attempts"])
    # The adapter runs in its own transaction, locking the account first as every write does.
    with transaction.atomic():
        account, order = locks.account_and_order(order_id, order.account_id)
        outbox = locks.outbox(order_id)
        if outbox.sent_at:
            return "already sent"
        if order.status not in (OrderStatus.ACCEPTED, OrderStatus.AMO):  # cancelled meanwhile
            outbox.sent_at = timezone.now()
            outbox.save(update_fields=["sent_at"])
            return f"not sent: order is {order.status}"
        if order.status == OrderStatus.AMO:
            order_transition(order, OrderStatus.ACCEPTED, reason="market open")
        state = adapter_for(account).submit(order)
        order.broker_order_id = state.broker_order_id
        order.save(update_fields=["broker_order_id"])
        working = (
            OrderStatus.TRIGGER_PENDING if order.order_type in ("SL", "SL-M") else OrderStatus.OPEN
        )
        order_transition(order, working, broker_order_id=state.broker_order_id)
        outbox.sent_at = timezone.now()
        outbox.save(update_fields=["sent_at"])
    from orders.paper import paper_match_order

    paper_match_order(order_id)  # the paper exchange fills marketable orders at once
    return f"sent as {state.broker_order_id}"


def outbox_relay(*, limit: int = 500) -> list[int]:
    """Queue every due outbox row that is not marked sent; returns the order ids queued."""
    from orders.tasks import submit_order

    due = list(
        OrderOutbox.objects.filter(sent_at__isnull=True, not_before__lte=timezone.now())
        .order_by("created_at")
        .values_list("order_id", flat=True)[:limit]
    )
    for order_id in due:
        submit_order.delay(order_id)
    return due


@dataclass(frozen=True)
class Discrepancy:
    order_id: int
    ours: str
    broker: str
    repaired: bool


def reconcile(*, repair: bool = False) -> list[Discrepancy]:
    """Compare every working order with its broker's view; with ``repair``, fix what can be fixed.

    - we sent it but the broker has no record of it: submit it again (adapters are idempotent);
    - ours working but cancelled at the broker: cancel ours;
    - the broker reports more filled than we recorded: reported only (fills come with ids).
    """
    from orders.choices import WORKING
    from orders.services import order_cancel

    found = []
    for order in Order.objects.filter(status__in=WORKING).select_related("account"):
        state = adapter_for(order.account).status(order)
        if state is None:
            if order.broker_order_id:  # we sent it, the broker has no record of it
                if repair:
                    adapter_for(order.account).submit(order)
                found.append(Discrepancy(order.pk, order.status, "not received", repair))
            continue
        if state.status == "cancelled":
            if repair:
                order_cancel(order=order, reason="cancelled at the broker (reconciliation)")
            found.append(Discrepancy(order.pk, order.status, "cancelled", repair))
        elif state.filled_quantity != order.filled_quantity:
            found.append(
                Discrepancy(
                    order.pk,
                    f"filled {order.filled_quantity}",
                    f"filled {state.filled_quantity}",
                    False,
                )
            )
    return found
