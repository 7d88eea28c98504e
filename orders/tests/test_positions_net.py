"""Positions show P&L both gross and net of charges, in the API and the admin."""

from decimal import Decimal

import pytest
from django.db.models import Sum

from orders.models import Fill, LedgerEntry, Position
from orders.services import order_place
from orders.tests.fixtures import quote, request
from risk.checks import DAY_PNL_KINDS

pytestmark = pytest.mark.django_db


@pytest.fixture
def round_trip(account, django_capture_on_commit_callbacks):
    """Buy 10 INFY intraday at 1500.05 and sell them at 1499.00: a loss, and charges."""
    with django_capture_on_commit_callbacks(execute=True):
        order_place(account=account, request=request(product="MIS", quantity=10))
    quote("INFY", bid="1499.00", ask="1499.05")
    with django_capture_on_commit_callbacks(execute=True):
        order_place(account=account, request=request(side="SELL", product="MIS", quantity=10))
    return Position.objects.get(account=account)


def test_a_position_carries_the_charges_of_its_fills(round_trip):
    fills = Fill.objects.filter(account=round_trip.account)
    assert fills.count() == 2
    assert round_trip.charges == fills.aggregate(t=Sum("charges_total"))["t"] > 0
    assert round_trip.realized_pnl == Decimal("-10.50")


def test_the_api_shows_gross_and_net_and_net_is_the_days_ledger(round_trip, trader):
    row = trader.get("/api/v1/positions").json()[0]
    day = LedgerEntry.objects.filter(account=round_trip.account, kind__in=DAY_PNL_KINDS)
    net = day.aggregate(t=Sum("amount"))["t"]
    assert Decimal(row["realized_pnl"]) == Decimal("-10.50")
    assert Decimal(row["charges"]) == round_trip.charges
    assert Decimal(row["realized_pnl_net"]) == net == Decimal("-10.50") - round_trip.charges
    assert Decimal(row["pnl_net"]) == net  # flat: nothing unrealized
    assert Decimal(row["pnl"]) == Decimal("-10.50")


def test_the_admin_lists_gross_charges_and_net(round_trip, user_in_role, otp_login, client):
    otp_login(client, user_in_role("Auditor"))
    page = client.get("/admin/orders/position/").content.decode()
    assert "Realized P&amp;L net of charges" in page
    assert str(Decimal("-10.50") - round_trip.charges) in page
    assert str(round_trip.charges) in page
