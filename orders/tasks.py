"""Celery tasks of the orders app: thin, idempotent, taking ids (queue ``execution``)."""

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from marketdata import calendar
from orders.execution import TransientBrokerError
from orders.locks import AccountBusy

#: A broker call or its recording that may succeed later: retried with backoff.
AT_BROKER = {
    "autoretry_for": (TransientBrokerError, OperationalError, AccountBusy),
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "max_retries": 10,
}


@shared_task(name="orders.tasks.submit_order", **AT_BROKER)
def submit_order(order_id: int) -> str:
    from orders.execution import execution_submit

    return execution_submit(order_id)


@shared_task(name="orders.tasks.cancel_at_broker", **AT_BROKER)
def cancel_at_broker(order_id: int) -> str:
    from orders.execution import execution_cancel

    return execution_cancel(order_id)


@shared_task(name="orders.tasks.modify_at_broker", **AT_BROKER)
def modify_at_broker(order_id: int) -> str:
    from orders.execution import execution_modify

    return execution_modify(order_id)


@shared_task(name="orders.tasks.paper_match_tick")
def paper_match_tick(moved: dict[str, str]) -> int:
    """One quote tick's matching at the paper exchange (instrument key -> quote timestamp)."""
    from orders.paper import paper_match_tick as match_tick

    return match_tick(moved)


@shared_task(name="orders.tasks.outbox_relay")
def outbox_relay() -> int:
    """Re-send unsent submissions, and cancels and changes the broker has not answered."""
    from orders.execution import outbox_relay as relay
    from orders.execution import requests_relay

    return len(relay()) + len(requests_relay())


@shared_task(name="orders.tasks.expire_day_orders")
def expire_day_orders() -> int:
    from orders.eod import orders_expire

    return len(orders_expire())


@shared_task(name="orders.tasks.square_off_intraday")
def square_off_intraday() -> int:
    if not calendar.is_trading_day(timezone.localdate()):
        return 0
    from orders.eod import mis_square_off

    return len(mis_square_off())


@shared_task(name="orders.tasks.settle_delivery")
def settle_delivery() -> int:
    """Before the open of a trading day, settle the previous session's delivery trades (T+1).
    On a holiday nothing settles: T+1 counts trading days."""
    if not calendar.is_trading_day(timezone.localdate()):
        return 0
    from orders.eod import holdings_settle

    return holdings_settle()


@shared_task(name="orders.tasks.margin_snapshot")
def margin_snapshot(kind: str = "intraday") -> int:
    """Snapshot every account's margin: ``intraday`` only while the market is open (beat
    fires it every half hour of 09:00-15:30 IST), ``close`` once after it on a trading day."""
    from orders.eod import margin_snapshots_take

    if kind == "close":
        if not calendar.is_trading_day(timezone.localdate()):
            return 0
    elif not calendar.is_open():
        return 0
    return margin_snapshots_take(kind=kind)
