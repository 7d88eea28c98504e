"""Races on PostgreSQL: concurrent requests with one idempotency key make exactly one order;
concurrent conversions of one position convert it once."""

import threading
from collections import Counter
from decimal import Decimal
from unittest import mock

import pytest
from django.contrib.auth.models import Group
from django.db import connection, connections
from rest_framework.test import APIClient

from conftest import require
from orders.conversion import ConversionRefused, position_convert
from orders.execution import execution_submit
from orders.models import Order, OrderOutbox, Position
from orders.services import fill_apply, order_place
from orders.tests.fixtures import assert_invariants, request

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_twenty_concurrent_requests_with_one_key_make_one_order(account, settings):
    require(connection.vendor == "postgresql", "PostgreSQL: SQLite cannot show a race")
    # The idempotency race, not the throttles: 20 requests at once would sit exactly at the
    # per-user bucket (20), where one token of drift answers 429.
    settings.API_ORDER_RATE = settings.API_RATE_PER_USER = settings.API_RATE_PER_ACCOUNT = 100
    user = account.users.get()
    user.groups.add(Group.objects.get(name="Trader"))
    body = {
        "account": "TS0001", "tradingsymbol": "INFY", "transaction_type": "BUY", "order_type": "LIMIT",
        "price": "1400.00", "product": "CNC", "quantity": 10, "client_order_id": "race-1",
    }  # fmt: skip
    barrier = threading.Barrier(20)
    statuses: list[int] = []

    def send() -> None:
        client = APIClient()
        client.force_authenticate(user)
        barrier.wait()
        try:
            statuses.append(client.post("/api/v1/orders", body, format="json").status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(20)]
    with mock.patch("orders.tasks.submit_order.delay"):  # submission is not what this test is about
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    counted = Counter(statuses)
    assert sum(counted.values()) == 20
    assert counted[201] == 1, counted
    assert set(counted) <= {200, 201}, counted  # the first placement and its replays
    assert Order.objects.filter(client_order_id="race-1").count() == 1
    assert OrderOutbox.objects.count() == 1
    assert_invariants(account)


def test_eight_concurrent_conversions_of_one_position_convert_it_once(account, market):
    """Each asks for all 10 shares: the account lock lets exactly one through."""
    require(connection.vendor == "postgresql", "PostgreSQL: SQLite cannot show a race")
    order = order_place(
        account=account,
        request=request(product="MIS", order_type="LIMIT", price=Decimal("1400.00"), quantity=10),
    ).order
    execution_submit(order.pk)  # what the worker does after commit
    order.refresh_from_db()
    assert order.status == "OPEN"  # resting at the paper exchange: filled here by hand
    fill_apply(order=order, broker_fill_id="race-fill", quantity=10, price=Decimal("1400.00"))
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def convert() -> None:
        barrier.wait()
        try:
            position_convert(account=account, instrument=market["INFY"], from_product="MIS",
                             to_product="CNC", quantity=10)  # fmt: skip
            outcomes.append("converted")
        except ConversionRefused as refused:
            outcomes.append(str(refused))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=convert) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("converted") == 1, outcomes
    assert all("is 0 shares; 10 cannot" in o for o in outcomes if o != "converted"), outcomes
    assert Position.objects.get(account=account, product="CNC").quantity == 10
    assert Position.objects.get(account=account, product="MIS").quantity == 0
    assert_invariants(account)
