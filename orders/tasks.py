"""Celery tasks of the orders app: thin, idempotent, taking ids (queue ``execution``)."""

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from marketdata import calendar
from orders.execution import TransientBrokerError


@shared_task(
    name="orders.tasks.submit_order",
    autoretry_for=(TransientBrokerError, OperationalError),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=10,
)
def submit_order(order_id: int) -> str:
    from orders.execution import execution_submit

    return execution_submit(order_id)


@shared_task(name="orders.tasks.outbox_relay")
def outbox_relay() -> int:
    from orders.execution import outbox_relay as relay

    return len(relay())


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
