"""Reads of surveillance: one trading day's orders and fills as plain rows (through the
orders app's selectors), linked client groups, and the market's prices and volumes from
marketdata's bars."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Sum

from compliance.surveillance.models import ClientLink
from compliance.surveillance.patterns import FillRow, OrderRow
from marketdata.calendar import IST
from marketdata.choices import Interval
from marketdata.models import Bar
from orders.choices import OrderStatus
from orders.selectors import fills_of_session, orders_of_session


def order_rows(*, day: date) -> list[OrderRow]:
    """The day's orders; a cancelled order's ``ended_at`` is its last change (the cancel:
    a cancelled order changes no more)."""
    return [
        OrderRow(
            id=o.pk,
            account_id=o.account_id,
            client_id=o.account.client_id,
            instrument_id=o.instrument_id,
            symbol=o.tradingsymbol,
            side=o.transaction_type,
            quantity=o.quantity,
            price=o.price,
            status=o.status,
            filled_quantity=o.filled_quantity,
            placed_at=o.created_at,
            ended_at=o.updated_at if o.status == OrderStatus.CANCELLED else None,
            touch_bid=o.touch_bid,
            touch_ask=o.touch_ask,
            algo_id=o.algo_id,
            account_kind=o.account.kind,
        )
        for o in orders_of_session(day=day)
    ]


def fill_rows(*, day: date) -> list[FillRow]:
    return [
        FillRow(
            id=f.pk,
            order_id=f.order_id,
            account_id=f.account_id,
            client_id=f.account.client_id,
            instrument_id=f.order.instrument_id,
            symbol=f.order.tradingsymbol,
            side=f.order.transaction_type,
            quantity=f.quantity,
            price=f.price,
            at=f.filled_at,
        )
        for f in fills_of_session(day=day)
    ]


def client_groups() -> dict[int, int]:
    """client id -> linked group id (a client in several groups: the first group)."""
    groups: dict[int, int] = {}
    for client_id, group_id in ClientLink.objects.order_by("group_id").values_list(
        "client_id", "group_id"
    ):
        groups.setdefault(client_id, group_id)
    return groups


def _day_bar(instrument_id: int, day: date) -> Bar | None:
    midnight = datetime.combine(day, time(0), IST)
    return Bar.objects.filter(
        instrument_id=instrument_id,
        interval=Interval.DAY,
        start__gte=midnight,
        start__lt=midnight + timedelta(days=1),
    ).first()


def prices_around_close(
    *, fills: list[FillRow], day: date, window_start: datetime, close_at: datetime
) -> tuple[dict[int, Decimal], dict[int, Decimal]]:
    """Per instrument traded in the window (``window_start`` to ``close_at``): its price
    when the window opened (the last minute bar's close before it, else our book's last fill
    before it, else its first fill in it) and its closing price (the day bar's close, else
    the last minute bar's, else our book's last fill at or before the close: a fill after
    the close does not set it)."""
    reference: dict[int, Decimal] = {}
    closing: dict[int, Decimal] = {}
    fills = [f for f in fills if f.at <= close_at]
    for instrument_id in sorted({f.instrument_id for f in fills if f.at >= window_start}):
        own = sorted((f for f in fills if f.instrument_id == instrument_id), key=lambda f: f.at)
        minute = Bar.objects.filter(
            instrument_id=instrument_id,
            interval=Interval.MINUTE,
            start__gte=datetime.combine(day, time(0), IST),
            start__lt=close_at,
        )
        before_bar = minute.filter(start__lt=window_start).order_by("-start").first()
        before = [f for f in own if f.at < window_start]
        inside = [f for f in own if f.at >= window_start]
        reference[instrument_id] = (
            before_bar.close if before_bar else before[-1].price if before else inside[0].price
        )
        day_bar = _day_bar(instrument_id, day)
        last_bar = minute.order_by("-start").first()
        closing[instrument_id] = (
            day_bar.close if day_bar else last_bar.close if last_bar else own[-1].price
        )
    return reference, closing


def market_volumes(*, instrument_ids: set[int], day: date) -> dict[int, int]:
    """Shares the market traded on the day, per instrument: the day bar's volume, else the
    sum of its minute bars'; 0 where marketdata has neither."""
    volumes: dict[int, int] = {}
    for instrument_id in sorted(instrument_ids):
        day_bar = _day_bar(instrument_id, day)
        if day_bar is not None:
            volumes[instrument_id] = day_bar.volume
            continue
        minute = Bar.objects.filter(
            instrument_id=instrument_id,
            interval=Interval.MINUTE,
            start__gte=datetime.combine(day, time(0), IST),
            start__lt=datetime.combine(day, time(0), IST) + timedelta(days=1),
        ).aggregate(total=Sum("volume"))["total"]
        volumes[instrument_id] = minute or 0
    return volumes
