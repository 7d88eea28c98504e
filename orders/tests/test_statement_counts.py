"""The SQL statements a placement and a fill issue are bounded, and the bound does not grow
with the account's history (more orders, fills and positions behind it)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.models import Order
from orders.services import fill_apply, order_place
from orders.tests.fixtures import quote, request

pytestmark = pytest.mark.django_db

#: Statements of one placement (an accepted LIMIT buy) and of one fill on PostgreSQL, once
#: the process is warm (its instrument specs cached, the account's audit chain made).
#: A placement issued 21 before the lock module.
PLACEMENT_MAX = 10
FILL_MAX = 11


def statements(work) -> list[str]:
    """The SQL ``work`` issues, less the savepoints of the test's own transaction."""
    with CaptureQueriesContext(connection) as captured:
        work()
    sqls = [q["sql"] for q in captured.captured_queries]
    return [s for s in sqls if not s.startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


def _limit_buy(account, n: int):
    return order_place(
        account=account,
        request=request(
            order_type="LIMIT", price=Decimal("1499.00"), quantity=1, client_order_id=f"c-{n}"
        ),
    ).order


def _history(account, orders: int) -> None:
    """Working orders, fills and positions behind the account, as a day of trading leaves."""
    for n in range(orders):
        _limit_buy(account, 10_000 + n)
    for order in Order.objects.filter(account=account)[: orders // 2]:
        order.status = "OPEN"
        order.save(update_fields=["status"])
        fill_apply(order=order, broker_fill_id=f"h-{order.pk}", quantity=1, price=Decimal("1499"))
    earlier = timezone.now() - timedelta(minutes=5)  # out of the order-rate window
    Order.objects.filter(account=account).update(created_at=earlier)


def test_a_placement_is_bounded_and_does_not_grow_with_history(account):
    _limit_buy(account, 0)  # warm: the instrument specs cached, the audit chain made
    first = statements(lambda: _limit_buy(account, 1))
    _history(account, 40)
    later = statements(lambda: _limit_buy(account, 2))

    if connection.vendor == "postgresql":  # SQLite takes no row locks and has no CTE
        assert len(first) <= PLACEMENT_MAX, "\n".join(first)
    assert len(later) == len(first), "\n".join(later)
    assert not [s for s in later if "FOR UPDATE" in s and 'OF "orders_tradingaccount"' not in s
                and "compliance_auditchain" not in s]  # fmt: skip


def test_a_fill_is_bounded_and_does_not_grow_with_history(account):
    def fill_one(n: int) -> list[str]:
        order = _limit_buy(account, 100 + n)
        order.status = "OPEN"
        order.save(update_fields=["status"])
        return statements(
            lambda: fill_apply(
                order=order, broker_fill_id=f"f-{n}", quantity=1, price=Decimal("1499")
            )
        )

    fill_one(0)  # warm: the position made
    first = fill_one(1)
    _history(account, 40)
    later = fill_one(2)

    if connection.vendor == "postgresql":
        assert len(first) <= FILL_MAX, "\n".join(first)
    assert len(later) == len(first), "\n".join(later)


def test_no_client_or_instrument_row_is_ever_locked(account):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite takes no row locks")
    quote("INFY")
    locking = [
        s
        for s in statements(lambda: _limit_buy(account, 7))
        + statements(lambda: _history(account, 2))
        if "FOR UPDATE" in s
    ]
    assert locking
    for sql in locking:
        assert " OF " in sql, sql
        assert '"compliance_client"' not in sql.split(" OF ")[1], sql
        assert '"marketdata_instrument"' not in sql.split(" OF ")[1], sql
