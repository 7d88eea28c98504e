"""Races on PostgreSQL: concurrent requests with one idempotency key make exactly one order."""

import threading
from collections import Counter
from unittest import mock

import pytest
from django.contrib.auth.models import Group
from django.db import connection, connections
from rest_framework.test import APIClient

from conftest import require
from orders.models import Order, OrderOutbox
from orders.tests.fixtures import assert_invariants

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
