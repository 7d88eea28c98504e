"""The P&L of a day's trades minute by minute (``orders.selectors.intraday_pnl``): fills
count from the close of their minute, held shares are marked at each close, and net is
less the fills' charges; no fills, no curve."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from marketdata.calendar import IST
from marketdata.models import Bar
from orders.selectors import intraday_pnl
from orders.services import fill_apply, order_place, order_transition
from orders.validation import OrderRequest

pytestmark = pytest.mark.django_db
OPEN = datetime(2026, 12, 2, 10, 0, tzinfo=IST)


def limit(side: str, quantity: int, price: str) -> OrderRequest:
    return OrderRequest(
        exchange="NSE", tradingsymbol="INFY", transaction_type=side, order_type="LIMIT",
        product="MIS", quantity=quantity, price=Decimal(price),
    )  # fmt: skip


def filled(account, side, quantity, price, at) -> None:
    order = order_place(account=account, request=limit(side, quantity, price)).order
    order_transition(order, "OPEN")
    fill_apply(order=order, broker_fill_id=f"F{order.pk}", quantity=quantity,
               price=Decimal(price), filled_at=at)  # fmt: skip


def test_the_days_trades_are_marked_at_each_minutes_close(account, market):
    for minute, close in enumerate(["101.00", "102.00", "104.00", "99.00"]):
        Bar.objects.create(
            instrument=market["INFY"], interval="1m", start=OPEN + timedelta(minutes=minute),
            open=Decimal(close), high=Decimal(close), low=Decimal(close), close=Decimal(close),
            volume=100,
        )  # fmt: skip
    filled(account, "BUY", 10, "100.00", OPEN + timedelta(seconds=30))
    filled(account, "SELL", 5, "103.00", OPEN + timedelta(minutes=2, seconds=10))
    points = intraday_pnl(account=account, day=OPEN.date())
    assert [p.at for p in points] == [OPEN + timedelta(minutes=m) for m in range(4)]
    # 10 bought at 100; 5 sold at 103 in the third minute; the rest marked at each close.
    assert [p.gross for p in points] == [
        Decimal("10.00"), Decimal("20.00"), Decimal("35.00"), Decimal("10.00")
    ]  # fmt: skip
    charges = sum(f.charges_total for f in account.fills.all())
    assert charges > 0
    assert [p.net for p in points] == [points[0].gross - account.fills.order_by("pk")[0].charges_total,
                                       points[1].gross - account.fills.order_by("pk")[0].charges_total,
                                       points[2].gross - charges, points[3].gross - charges]  # fmt: skip


def test_no_fills_no_curve(account):
    assert intraday_pnl(account=account, day=OPEN.date()) == []


def test_the_day_view_sums_each_instruments_trades_of_the_day(account, market):
    from orders.selectors import day_trades

    filled(account, "BUY", 10, "100.00", OPEN + timedelta(seconds=30))
    filled(account, "BUY", 5, "103.00", OPEN + timedelta(minutes=1))
    filled(account, "SELL", 6, "104.50", OPEN + timedelta(minutes=2))
    [row] = day_trades(account=account, day=OPEN.date())
    assert (row.instrument, row.product) == (market["INFY"], "MIS")
    assert (row.bought_quantity, row.bought_value, row.bought_average) == (
        15, Decimal("1515.00"), Decimal("101.00")
    )  # fmt: skip
    assert (row.sold_quantity, row.sold_average, row.net_quantity) == (6, Decimal("104.50"), 9)
    assert row.charges == sum(f.charges_total for f in account.fills.all())
    assert day_trades(account=account, day=OPEN.date() + timedelta(days=1)) == []
