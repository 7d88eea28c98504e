"""End-of-day work on beat schedules: expire DAY orders, square off intraday, settle delivery,
and the margin snapshots the daily margin statement reads."""

import logging
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from marketdata import calendar
from orders import locks
from orders.choices import WORKING, OrderStatus
from orders.models import MarginSnapshot, Order, Position, TradingAccount
from orders.positions import PositionState, position_after_fill
from orders.validation import OrderRequest

logger = logging.getLogger(__name__)
SQUARE_OFF_TAG = "SQUAREOFF"


def orders_expire(*, session_date: date | None = None) -> list[int]:
    """Expire every working DAY order of ``session_date`` (default today), each in its own
    transaction: at once if the broker never received it, else by a cancel request that the
    broker answers after commit (``orders.services.order_expire``). Returns their ids."""
    from orders.services import OrderNotWorking, order_expire

    session_date = session_date or timezone.localtime(timezone.now(), calendar.IST).date()
    expired = []
    due = Order.objects.filter(
        session_date__lte=session_date,
        status__in=WORKING - {OrderStatus.AMO, OrderStatus.CANCEL_PENDING},
    ).only("pk", "account_id")
    for order in due:
        try:
            order_expire(order=order, reason=f"DAY order expired at the close of {session_date}")
        except OrderNotWorking:  # it ended meanwhile
            continue
        except locks.AccountBusy:  # still working: the next close expires it
            logger.error("order %s not expired: account busy", order.pk)
            continue
        expired.append(order.pk)
    return expired


def mis_square_off() -> list[int]:
    """Close every open intraday position with a market order through the normal order path."""
    from orders.services import order_place

    placed = []
    for position in (
        Position.objects.filter(product="MIS")
        .exclude(quantity=0)
        .select_related("account", "instrument")
    ):
        request = OrderRequest(
            exchange=position.instrument.exchange,
            tradingsymbol=position.instrument.tradingsymbol,
            transaction_type="SELL" if position.quantity > 0 else "BUY",
            order_type="MARKET",
            product="MIS",
            quantity=abs(position.quantity),
            tag=SQUARE_OFF_TAG,
            client_order_id=f"sqoff-{position.pk}-{timezone.localdate()}",
        )
        try:
            placed.append(order_place(account=position.account, request=request).order.pk)
        except locks.AccountBusy:  # its client_order_id makes the next run a safe retry
            logger.warning("square-off of position %s deferred: account busy", position.pk)
    return placed


def holdings_settle() -> int:
    """Settle the last session's delivery trades into holdings (run before the next open, T+1),
    and start every position's day counters afresh. Returns the delivery positions settled.

    One transaction per account, locking the account, then its positions, then holdings."""
    moved = Position.objects.exclude(day_buy_quantity=0, day_sell_quantity=0)
    settled = 0
    for account_id in sorted(set(moved.values_list("account_id", flat=True))):
        with transaction.atomic():
            locks.account(account_id)
            for position in locks.positions_moved(account_pk=account_id):
                settled += _settle(position)
    return settled


def _settle(position: Position) -> int:
    """Move one delivery position into its holding; reset its day counters."""
    settled = 0
    if position.product == "CNC" and position.quantity:
        holding = locks.holding(
            account_pk=position.account_id, instrument_pk=position.instrument_id
        )
        held = PositionState(holding.quantity, holding.average_price, Decimal("0"))
        side = "BUY" if position.quantity > 0 else "SELL"
        after = position_after_fill(
            held, side=side, quantity=abs(position.quantity), price=position.average_price
        )
        holding.quantity, holding.average_price = after.quantity, after.average_price
        holding.save()
        position.quantity, position.average_price = 0, Decimal("0")
        settled = 1
    position.day_buy_quantity = position.day_sell_quantity = 0
    position.save()
    return settled


def margin_snapshots_take(*, kind: str, at=None) -> int:
    """Record every account's cash, blocked funds, intraday margin in use and available
    funds now (``at``, for tests and the demo), as ``kind`` (in session or after the
    close); returns how many. Reads only: no lock is taken, so placements go on meanwhile
    and an account's figures are those of the moment it is read. A second call at the same
    instant records nothing new (the count is of the instant's rows)."""
    from orders.selectors import funds_of

    at = at or timezone.now()
    day = timezone.localtime(at, calendar.IST).date()
    snapshots = []
    for account in TradingAccount.objects.order_by("pk").iterator(chunk_size=500):
        funds = funds_of(account, on=day)
        snapshots.append(MarginSnapshot(account=account, trade_date=day, taken_at=at, kind=kind,
                                        **funds))  # fmt: skip
    MarginSnapshot.objects.bulk_create(snapshots, batch_size=500, ignore_conflicts=True)
    return MarginSnapshot.objects.filter(taken_at=at).count()
