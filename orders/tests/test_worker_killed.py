"""No accepted order is lost: a Celery worker killed with SIGKILL in the middle of a submission.

Real PostgreSQL, real Redis, real worker processes. The paper exchange's simulated round
trip (PAPER_LATENCY_MS) keeps each submission in flight long enough to kill it there.
"""

import os
import signal
import subprocess
import sys
import time

import pytest
import redis
from django.conf import settings
from django.db import connection

from conftest import BASE_DIR, require
from orders.execution import outbox_relay
from orders.models import Order, OrderOutbox, PaperOrder
from orders.services import order_place
from orders.tasks import submit_order
from orders.tests.fixtures import request
from tradingsite.celery import app

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
ORDERS = 12


def start_worker(broker: str) -> subprocess.Popen:
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": broker,
        "MARKETDATA_ALWAYS_OPEN": "true",
        "PAPER_LATENCY_MS": "400",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tradingsite", "worker", "--queues", "execution",
         "--concurrency", "1", "--prefetch-multiplier", "1", "--without-gossip", "--without-mingle",
         "--hostname", f"killed-{time.monotonic_ns()}@test", "--loglevel", "WARNING"],
        cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_orders_survive_a_worker_killed_mid_submission(account, redis_url, monkeypatch):
    require(
        connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL), shared with the worker"
    )
    broker = redis_url.rsplit("/", 1)[0] + "/4"
    redis.Redis.from_url(broker).flushdb()
    # Placement and the relay both call submit_order.delay; send those to this test's broker
    # explicitly (Celery's producer pool may already be bound to another one).
    connection_to_broker = app.connection_for_write(broker)
    monkeypatch.setattr(
        submit_order,
        "delay",
        lambda order_id: submit_order.apply_async((order_id,), connection=connection_to_broker),
    )
    for n in range(ORDERS):
        order_place(account=account, request=request(quantity=1, client_order_id=f"kill-{n}"))
    assert OrderOutbox.objects.filter(sent_at__isnull=True).count() == ORDERS

    worker = start_worker(broker)
    try:
        # Kill it while a submission is in flight: attempted, not yet marked sent.
        wait_for(
            lambda: OrderOutbox.objects.filter(sent_at__isnull=False).exists(),
            60,
            "a first submission",
        )
        wait_for(
            lambda: OrderOutbox.objects.filter(sent_at__isnull=True, attempts__gte=1).exists(),
            30, "a submission in flight",
        )  # fmt: skip
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    interrupted = list(
        OrderOutbox.objects.filter(sent_at__isnull=True, attempts__gte=1).values_list(
            "order_id", flat=True
        )
    )
    assert interrupted, "the kill should have landed in the middle of a submission"
    assert OrderOutbox.objects.filter(sent_at__isnull=True).exists()

    restarted = start_worker(broker)
    try:
        outbox_relay()  # re-sends every row not marked sent, the interrupted one included
        wait_for(
            lambda: not OrderOutbox.objects.filter(sent_at__isnull=True).exists(),
            90,
            "every order sent",
        )
    finally:
        os.killpg(restarted.pid, signal.SIGKILL)
        restarted.wait(timeout=30)

    # Every accepted order reached the exchange exactly once.
    assert PaperOrder.objects.count() == ORDERS
    assert set(PaperOrder.objects.values_list("order_id", flat=True)) == set(
        Order.objects.values_list("pk", flat=True)
    )
    assert all(OrderOutbox.objects.get(order_id=pk).attempts >= 2 for pk in interrupted)
    assert not Order.objects.filter(status__in=["ACCEPTED", "AMO"]).exists()
