"""Execution: broker adapters, submissions, cancels and changes at the broker, the relays,
and reconciliation.

No broker call runs while a row lock is held. Each call has three steps: a transaction
records the attempt (a submission here; a cancel or change request in ``orders.services``),
the adapter is called with no lock held, and another transaction records the answer,
idempotently. Adapters are idempotent per order, so a repeat (a redelivered task, a relay)
never sends anything twice; the relays re-send what a lost task left behind: outbox rows not
marked sent, requests not answered.

Adapters are known only through :class:`BrokerAdapter`; ``ORDERS_BROKER_ADAPTERS`` maps an
account's ``broker`` to its adapter's class.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from marketdata import calendar
from orders import locks
from orders.choices import PENDING, WORKING, OrderStatus, OrderType
from orders.models import Order, OrderOutbox, TradingAccount

SENT, WITHDRAW, REFUSED = "sent", "withdraw", "refused"


@dataclass(frozen=True)
class BrokerOrderState:
    broker_order_id: str
    status: str  # "working", "filled", "cancelled", or "rejected" (never worked there)
    filled_quantity: int
    reason: str = ""  # why the broker rejected it


class BrokerAdapter(Protocol):
    """A broker, as execution sees it. Every call may be repeated for the same order.

    An adapter may also define ``submitted(order)``, called once a submission is recorded,
    with no lock held (the paper exchange matches a marketable order there)."""

    name: str

    def submit(self, order: Order) -> BrokerOrderState:
        """Send ``order``; sending the same order again returns its existing state. A broker
        that refuses the order answers ``status="rejected"`` with its ``reason``."""

    def modify(self, order: Order) -> bool:
        """Change ``order`` at the broker to its quantity, price and trigger: True if applied,
        False if refused (filled, or no longer working there)."""

    def cancel(self, order: Order) -> bool:
        """Cancel the rest of ``order``: True if cancelled (now or before), False if too late."""

    def status(self, order: Order) -> BrokerOrderState | None:
        """What the broker holds for ``order``, or None if it never received it."""


class TransientBrokerError(RuntimeError):
    """The broker could not be reached or answered busy: retry later."""


def adapter_for(account: TradingAccount) -> BrokerAdapter:
    adapters = settings.ORDERS_BROKER_ADAPTERS
    if account.broker not in adapters:
        raise LookupError(f"account {account.code} uses unknown broker adapter {account.broker!r}")
    return import_string(adapters[account.broker])()


# --- Submission ------------------------------------------------------------------------------


def execution_submit(order_id: int) -> str:
    """Submit one accepted order to its broker, once. Returns what happened, for the task result."""
    order, outcome = submission_attempt(order_id=order_id)
    if order is None:
        return outcome
    adapter = adapter_for(order.account)
    state = adapter.submit(order)  # no lock held; a repeat returns the same broker order
    outcome = submission_record(order_id=order_id, state=state)
    if outcome == REFUSED:
        return f"rejected by the broker: {state.reason}"
    if outcome == WITHDRAW:  # cancelled here while it was being sent
        adapter.cancel(order)
        return f"withdrawn: the order was cancelled while sent as {state.broker_order_id}"
    if outcome == SENT:
        submitted = getattr(adapter, "submitted", None)
        if submitted is not None:
            submitted(order)
        return f"sent as {state.broker_order_id}"
    return outcome


def _account_of(order_id: int) -> int | None:
    return Order.objects.filter(pk=order_id).values_list("account_id", flat=True).first()


@locks.spine_transaction
def submission_attempt(*, order_id: int) -> tuple[Order | None, str]:
    """Mark one attempt to submit an accepted order (an AMO becomes ACCEPTED at the open).
    Returns the order to send, or None and why nothing is to be sent."""
    from orders.services import order_transition

    account_id = _account_of(order_id)
    if account_id is None:
        return None, "no such order"
    account, order = locks.account_and_order(order_id, account_id)
    outbox = locks.outbox(order_id)
    if outbox is None or outbox.sent_at:
        return None, "already sent"
    if order.status not in (OrderStatus.ACCEPTED, OrderStatus.AMO):  # cancelled before sent
        outbox.sent_at = timezone.now()
        outbox.save(update_fields=["sent_at"])
        return None, f"not sent: order is {order.status}"
    if outbox.not_before > timezone.now():
        return None, "waiting for the open"
    if order.status == OrderStatus.AMO:
        order_transition(order, OrderStatus.ACCEPTED, reason="market open")
    outbox.attempts += 1
    outbox.save(update_fields=["attempts"])
    order.account = account
    return order, "sending"


@locks.spine_transaction
def submission_record(*, order_id: int, state: BrokerOrderState) -> str:
    """Record the broker's answer to a submission, once: its order id, and the order OPEN
    (TRIGGER_PENDING for a stop). An order cancelled while it was being sent keeps its
    status, and is to be withdrawn at the broker (``WITHDRAW``). An order the broker
    rejected is REJECTED with the broker's reason and its funds released (``REFUSED``)."""
    from orders.services import order_rejected_at_broker, order_transition

    account, order = locks.account_and_order(order_id, _account_of(order_id))
    outbox = locks.outbox(order_id)
    if outbox.sent_at:
        return "already sent"
    order.broker_order_id = state.broker_order_id
    order.save(update_fields=["broker_order_id", "updated_at"])
    outbox.sent_at = timezone.now()
    outbox.save(update_fields=["sent_at"])
    if state.status == "rejected":
        if order.status == OrderStatus.ACCEPTED:  # a cancelled one stays cancelled
            order_rejected_at_broker(account, order, reason=state.reason)
        return REFUSED
    if order.status != OrderStatus.ACCEPTED:
        return WITHDRAW
    stop = order.order_type in (OrderType.SL, OrderType.SL_M)
    working = OrderStatus.TRIGGER_PENDING if stop else OrderStatus.OPEN
    order_transition(order, working, broker_order_id=state.broker_order_id)
    return SENT


# --- Cancels and changes at the broker ------------------------------------------------------


def execution_cancel(order_id: int) -> str:
    """Ask the broker to cancel an order in CANCEL_PENDING, with no lock held, and record its
    answer (``order_cancel_answered``)."""
    from orders.services import order_cancel_answered

    order = Order.objects.select_related("account").filter(pk=order_id).first()
    if order is None or order.status != OrderStatus.CANCEL_PENDING:
        return "no cancel pending"
    cancelled = adapter_for(order.account).cancel(order)
    order_cancel_answered(order=order, cancelled=cancelled)
    return "cancelled" if cancelled else "refused: too late"


def execution_modify(order_id: int) -> str:
    """Ask the broker to apply the change an order in MODIFY_PENDING waits for, with no lock
    held, and record its answer (``order_modify_answered``)."""
    from orders.services import order_modify_answered

    order = Order.objects.select_related("account").filter(pk=order_id).first()
    if order is None or order.status != OrderStatus.MODIFY_PENDING:
        return "no change pending"
    change = order.pending_change
    order.quantity = change["quantity"]  # the order as asked; the answer reloads it
    order.price = _decimal(change["price"])
    order.trigger_price = _decimal(change["trigger_price"])
    applied = adapter_for(order.account).modify(order)
    order_modify_answered(order=order, applied=applied)
    return "modified" if applied else "refused"


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


# --- Relays ----------------------------------------------------------------------------------


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


def requests_relay(*, older_than_seconds: int | None = None, limit: int = 500) -> list[int]:
    """Queue again every cancel or change left unanswered longer than ``older_than_seconds``
    (default ``ORDERS_REQUEST_RELAY_SECONDS``): its task was lost, or is still retrying, and
    a repeat is harmless. Returns the order ids queued."""
    from orders.tasks import cancel_at_broker, modify_at_broker

    if older_than_seconds is None:
        older_than_seconds = settings.ORDERS_REQUEST_RELAY_SECONDS
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    due = list(
        Order.objects.filter(status__in=PENDING, requested_at__lte=cutoff)
        .order_by("requested_at")
        .values_list("pk", "status")[:limit]
    )
    for order_id, status in due:
        task = cancel_at_broker if status == OrderStatus.CANCEL_PENDING else modify_at_broker
        task.delay(order_id)
    return [order_id for order_id, _ in due]


# --- Reconciliation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Discrepancy:
    order_id: int
    ours: str
    broker: str
    repaired: bool


def reconcile(*, repair: bool = False) -> list[Discrepancy]:
    """Compare orders with their broker's view; with ``repair``, fix what can be fixed. Broker
    calls run with no lock held; each repair is its own transaction.

    - working, sent, but the broker has no record of it: submit it again (adapters are
      idempotent);
    - working here but cancelled at the broker: record the broker's cancel;
    - cancelled or expired here this session but working at the broker (a withdrawal that was
      lost): cancel it there;
    - the broker reports more filled than we recorded: reported only (fills come with ids).
    """
    from orders.services import order_cancel_answered

    found = []
    for order in Order.objects.filter(status__in=WORKING).select_related("account"):
        adapter = adapter_for(order.account)
        state = adapter.status(order)
        if state is None:
            if order.broker_order_id:  # we sent it, the broker has no record of it
                if repair:
                    adapter.submit(order)
                found.append(Discrepancy(order.pk, order.status, "not received", repair))
            continue
        if state.status == "cancelled":
            if repair:
                order_cancel_answered(
                    order=order, cancelled=True, reason="cancelled at the broker (reconciliation)"
                )
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
    today = timezone.localtime(timezone.now(), calendar.IST).date()
    ended = (
        Order.objects.filter(
            status__in=(OrderStatus.CANCELLED, OrderStatus.EXPIRED), session_date__gte=today
        )
        .exclude(broker_order_id="")
        .select_related("account")
    )
    for order in ended:
        adapter = adapter_for(order.account)
        state = adapter.status(order)
        if state is not None and state.status == "working":
            if repair:
                adapter.cancel(order)
            found.append(Discrepancy(order.pk, order.status, "working", repair))
    return found
