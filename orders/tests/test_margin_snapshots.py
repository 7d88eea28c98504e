"""Margin snapshots: every account's funds recorded as the risk checks see them, in session
only (intraday) or once a trading day (close), and never twice at one instant."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from orders.models import MarginSnapshot
from orders.selectors import funds_of
from orders.tasks import margin_snapshot

pytestmark = pytest.mark.django_db
IST = ZoneInfo("Asia/Kolkata")


def test_an_intraday_snapshot_is_taken_only_while_the_market_is_open(account, settings):
    settings.MARKETDATA_ALWAYS_OPEN = False
    with time_machine.travel(datetime(2026, 12, 1, 8, 30, tzinfo=IST), tick=False):
        assert margin_snapshot() == 0  # a Tuesday before the open
    with time_machine.travel(datetime(2026, 12, 1, 10, 30, tzinfo=IST), tick=False):
        assert margin_snapshot() == 1
    snap = MarginSnapshot.objects.get()
    funds = funds_of(account, on=snap.trade_date)
    assert (snap.kind, snap.cash, snap.blocked, snap.margin_used, snap.available) == (
        "intraday", funds["cash"], funds["blocked"], funds["margin_used"], funds["available"],
    )  # fmt: skip


def test_the_close_snapshot_is_taken_on_trading_days_only(account, settings):
    settings.MARKETDATA_ALWAYS_OPEN = False
    with time_machine.travel(datetime(2026, 12, 5, 15, 40, tzinfo=IST), tick=False):
        assert margin_snapshot(kind="close") == 0  # a Saturday
    with time_machine.travel(datetime(2026, 12, 4, 15, 40, tzinfo=IST), tick=False):
        assert margin_snapshot(kind="close") == 1
        assert margin_snapshot(kind="close") == 1  # the same instant: still one row
    assert MarginSnapshot.objects.filter(kind="close").count() == 1
