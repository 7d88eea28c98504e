"""Race on PostgreSQL: 50 threads whose orders together exceed a limit; exactly the allowed
number are accepted and the final exposure never exceeds the limit."""

import threading
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection, connections

from conftest import require
from orders.models import Order, Position
from orders.services import order_place
from orders.tests.fixtures import assert_invariants, request
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
