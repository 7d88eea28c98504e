"""Race on PostgreSQL: 50 threads whose orders together exceed a limit; exactly the allowed
number are accepted and the final exposure never exceeds the limit."""

import threading
import time
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection, connections

from compliance.models import Client
from conftest import require
from orders.choices import LedgerKind
from orders.models import Order, Position, TradingAccount
from orders.services import funds_move, order_place
from orders.tests.fixtures import assert_invariants, request
from risk import checks
from risk.choices import LimitKind, Scope

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_fifty_concurrent_orders_never_breach_the_position_limit(account, set_limit):
    require(connection.vendor == "postgresql", "PostgreSQL: SQLite cannot show a race")
    set_limit(Scope.ACCOUNT, LimitKind.MAX_POSITION_QUANTITY, Decimal(200), account=account)
    set_limit(Scope.FIRM, LimitKind.ORDER_RATE_PER_SECOND, Decimal(1000))  # the race, not the rate
    barrier = threading.Barrier(50)

    def send() -> None:
        barrier.wait()
        try:
            order_place(
                account=account,
                request=request(order_type="LIMIT", price=Decimal("1400.00"), quantity=10),
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(50)]
    with mock.patch("orders.tasks.submit_order.delay"):  # they rest; submission is not under test
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    accepted = Order.objects.exclude(status="REJECTED")
    assert accepted.count() == 20  # 20 x 10 = the limit of 200
    rejected = Order.objects.filter(status="REJECTED")
    assert rejected.count() == 30
    assert all(o.rejection_reasons[0]["code"] == "MAX_POSITION_QUANTITY" for o in rejected)
    worst = sum(o.quantity for o in accepted) + sum(
        p.quantity for p in Position.objects.filter(account=account)
    )
    assert worst <= 200
    assert_invariants(account)


def test_an_algo_rate_holds_across_accounts_that_race(account, set_limit):
    """20 threads, four accounts, one algo ID: no second ever holds more than 10 of its orders."""
    require(connection.vendor == "postgresql", "PostgreSQL: SQLite cannot show a race")
    set_limit(Scope.FIRM, LimitKind.ORDER_RATE_PER_SECOND, Decimal(10))  # a flush took the default
    accounts = [account]
    for n in range(2, 5):  # each with its own client: no shared row to lock
        client = Client.objects.create(name=f"C{n}", pan=f"ABCPI123{n}K", kyc_status="verified")
        accounts.append(TradingAccount.objects.create(code=f"TS000{n}", client=client))
        funds_move(account=accounts[-1], kind=LedgerKind.DEPOSIT, amount=Decimal("100000.00"))
    barrier = threading.Barrier(20)

    def send(target) -> None:
        barrier.wait()
        try:
            order_place(
                account=target,
                request=request(
                    order_type="LIMIT", price=Decimal("1400.00"), quantity=1, algo_id="RACE1"
                ),
            )
        finally:
            connections.close_all()

    def slow(context) -> list:
        time.sleep(0.02)  # widens the window between counting and committing
        return []

    threads = [threading.Thread(target=send, args=(accounts[i % 4],)) for i in range(20)]
    with (
        mock.patch("orders.tasks.submit_order.delay"),
        mock.patch.object(checks, "CHECKS", [*checks.CHECKS, slow]),
    ):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    placed = sorted(
        Order.objects.exclude(status="REJECTED").values_list("created_at", flat=True)
    )  # accepted, then perhaps cancelled by the trip
    assert len(placed) >= 10  # the first ten of the second always pass
    assert all(
        later - first > timedelta(seconds=1)
        for first, later in zip(placed, placed[10:], strict=False)
    )
    refused = Order.objects.filter(status="REJECTED")
    assert all(
        {"ALGO_ORDER_RATE", "KILL_SWITCH"} & {r["code"] for r in o.rejection_reasons}
        for o in refused
    )
