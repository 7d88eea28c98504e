"""End-of-day work on beat schedules: expire DAY orders, square off intraday, settle delivery."""

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from marketdata import calendar
from orders.choices import WORKING, OrderStatus
from orders.models import Holding, Order, Position, TradingAccount
from orders.positions import PositionState, position_after_fill
from orders.validation import OrderRequest

SQUARE_OFF_TAG = "SQUAREOFF"


def orders_expire(*, session_date: date | None = None) -> list[int]:
    """Expire every working DAY order of ``session_date`` (default today) and release its funds."""
    from orders.execution import adapter_for
    from orders.services import _block, _locked, order_transition

    session_date = session_date or timezone.localtime(timezone.now(), calendar.IST).date()
    expired = []
    due = Order.objects.filter(
        session_date__lte=session_date, status__in=WORKING - {OrderStatus.AMO}
    )
    for order_id in due.values_list("pk", flat=True):
        with transaction.atomic():
            account, order = _locked(Order.objects.only("account_id").get(pk=order_id))
            if order.status not in WORKING or order.status == OrderStatus.AMO:
                continue
            if order.broker_order_id:
                adapter_for(account).cancel(order)
            _block(account, order, Decimal("0.00"))
            order_transition(
                order,
                OrderStatus.EXPIRED,
                reason=f"DAY order expired at the close of {session_date}",
            )
            expired.append(order_id)
    return expired


def mis_square_off() -> list[int]:
    """Close every open intraday position with a market order through the normal order path."""
    from orders.services import OrderInFlight, order_place

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
        except OrderInFlight:
            continue
    return placed


@transaction.atomic
def holdings_settle() -> int:
    """Settle the last session's delivery trades into holdings (run before the next open, T+1),
    and start every position's day counters afresh. Returns the delivery positions settled."""
    settled = 0
    for position in Position.objects.select_for_update().exclude(
        day_buy_quantity=0, day_sell_quantity=0
    ):
        TradingAccount.objects.select_for_update().get(pk=position.account_id)
        if position.product == "CNC" and position.quantity:
            holding, _ = Holding.objects.select_for_update().get_or_create(
                account_id=position.account_id, instrument_id=position.instrument_id
            )
            held = PositionState(holding.quantity, holding.average_price, Decimal("0"))
            side = "BUY" if position.quantity > 0 else "SELL"
            after = position_after_fill(
                held, side=side, quantity=abs(position.quantity), price=position.average_price
            )
            holding.quantity, holding.average_price = after.quantity, after.average_price
            holding.save()
            position.quantity, position.average_price = 0, Decimal("0")
            settled += 1
        position.day_buy_quantity = position.day_sell_quantity = 0
        position.save()
    return settled
