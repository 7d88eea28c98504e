"""A paper tick is matched at most once per order: Celery delivers ``paper_match_tick`` at
least once, so the same tick may run twice (even at once), or late after a newer one."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.utils import timezone

from conftest import require
from orders.choices import LedgerKind
from orders.models import Fill, LedgerEntry, Order, PaperOrder, Position
from orders.paper import paper_match, paper_match_tick
from orders.services import order_place
from orders.tests.fixtures import assert_invariants, quote, request

pytestmark = pytest.mark.django_db


def tick(*quotes) -> dict[str, str]:
    """The task's argument for one feed tick of ``quotes``, as ``paper_on_quotes`` queues it."""
    return {q.instrument: q.timestamp.isoformat() for q in quotes}


def books(order: Order) -> tuple[list[tuple[int, Decimal]], int, list[Decimal]]:
    """The order's fills, its position's quantity and its trade debits."""
    fills = list(order.fills.order_by("pk").values_list("quantity", "price"))
    position = Position.objects.get(account=order.account, instrument=order.instrument)
    debits = list(
        LedgerEntry.objects.filter(order=order, kind=LedgerKind.TRADE_DEBIT)
        .order_by("pk")
        .values_list("amount", flat=True)
    )
    return fills, position.quantity, debits


def test_a_redelivered_tick_fills_once_and_a_late_older_tick_not_at_all(resting, account):
    first_at = timezone.now()
    first = quote(bid="1399.00", ask="1399.50", ask_qty=4, at=first_at)  # a partial fill
    assert paper_match_tick(tick(first)) == 1
    assert paper_match_tick(tick(first)) == 0  # the same task, redelivered
    resting.refresh_from_db()
    ((filled, price),) = resting.fills.values_list("quantity", "price")
    assert 0 < filled < 10
    assert (resting.status, resting.filled_quantity) == ("PARTIALLY_FILLED", filled)
    assert books(resting) == ([(filled, price)], filled, [-filled * price])

    newer = quote(bid="1398.50", ask="1399.00", ask_qty=4, at=first_at + timedelta(seconds=1))
    assert paper_match_tick(tick(newer)) == 1  # a new tick still matches
    resting.refresh_from_db()
    (_, first_price), (second, second_price) = resting.fills.order_by("pk").values_list(
        "quantity", "price"
    )
    assert second_price == Decimal("1399.00")
    assert resting.filled_quantity == filled + second < 10

    # The first tick again, late: its quote back in the cache (a slow writer), and handed
    # straight to the matcher; the order has met a newer quote, so neither changes anything.
    quote(bid="1399.00", ask="1399.50", ask_qty=4, at=first_at)
    assert paper_match_tick(tick(first)) == 0
    paper = PaperOrder.objects.get(order=resting)
    assert paper_match(paper.pk, first) == 0
    assert paper_match(paper.pk, newer) == 0
    resting.refresh_from_db()
    assert resting.filled_quantity == filled + second
    assert books(resting) == (
        [(filled, first_price), (second, second_price)],
        filled + second,
        [-filled * first_price, -second * second_price],
    )
    paper.refresh_from_db()
    assert (paper.remaining, paper.executions, paper.matched_quote_at) == (
        10 - filled - second,
        2,
        newer.timestamp,
    )
    assert_invariants(account)


def test_the_tick_a_submitted_order_was_matched_against_does_not_match_it_again(account, answered):
    on_the_wire = quote(bid="1399.00", ask="1399.50", ask_qty=4)  # its tick's task queued
    with answered():  # submitted and matched at once, against the same quote
        order = order_place(
            account=account,
            request=request(order_type="LIMIT", price=Decimal("1400.00"), quantity=10),
        ).order
    order.refresh_from_db()
    assert order.status == "PARTIALLY_FILLED"
    assert paper_match_tick(tick(on_the_wire)) == 0
    order.refresh_from_db()
    assert (order.fills.count(), order.filled_quantity) == (1, order.fills.get().quantity)
    assert_invariants(account)


def test_a_tick_that_did_not_fill_is_not_matched_again_but_the_next_fills(resting, account):
    away = quote(bid="1449.00", ask="1449.50")
    assert paper_match_tick(tick(away)) == 0
    assert PaperOrder.objects.get(order=resting).matched_quote_at == away.timestamp
    assert paper_match_tick(tick(away)) == 0
    marketable = quote(bid="1399.00", ask="1399.50", at=away.timestamp + timedelta(seconds=1))
    assert paper_match_tick(tick(marketable)) == 1
    resting.refresh_from_db()
    assert (resting.status, resting.filled_quantity, resting.average_price) == (
        "COMPLETE",
        10,
        Decimal("1399.5000"),
    )
    assert_invariants(account)


@pytest.mark.django_db(transaction=True)
def test_one_tick_delivered_twice_at_once_fills_once_on_postgresql(resting, account):
    """A task redelivered while its first delivery still runs (a worker past the visibility
    timeout): both wait on the same locks, and the second finds the tick matched."""
    require(connection.vendor == "postgresql", "PostgreSQL: SQLite cannot show a race")
    the_tick = tick(quote(bid="1399.00", ask="1399.50", ask_qty=4))
    barrier = threading.Barrier(4)
    matched: list[int] = []

    def deliver() -> None:
        barrier.wait()
        try:
            matched.append(paper_match_tick(the_tick))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(matched) == [0, 0, 0, 1]
    resting.refresh_from_db()
    ((filled, price),) = Fill.objects.filter(order=resting).values_list("quantity", "price")
    assert resting.filled_quantity == filled < 10
    assert books(resting) == ([(filled, price)], filled, [-filled * price])
    assert_invariants(account)
