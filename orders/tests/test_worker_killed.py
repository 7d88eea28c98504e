"""No accepted order is lost, or sent or filled twice: Celery workers killed in the middle of
a submission (SIGKILL while the broker is being called), and between the broker's answer and
our recording of it.

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
from orders.choices import LedgerKind
from orders.execution import outbox_relay
from orders.models import Fill, LedgerEntry, Order, OrderOutbox, PaperOrder
from orders.services import order_place
from orders.tasks import submit_order
from orders.tests.fixtures import assert_invariants, request
from tradingsite.celery import app

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
ORDERS = 10  # placed within a second: the firm's default order rate allows 10


def start_worker(broker: str, app_module: str = "tradingsite", **env_extra) -> subprocess.Popen:
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": broker,
        "MARKETDATA_ALWAYS_OPEN": "true",
        "PAPER_LATENCY_MS": "400",
        **env_extra,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", app_module, "worker", "--queues", "execution",
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


def send_to(broker: str, monkeypatch) -> None:
    """Placement and the relay both call submit_order.delay; send those to this test's broker
    explicitly (Celery's producer pool may already be bound to another one)."""
    connection_to_broker = app.connection_for_write(broker)
    monkeypatch.setattr(
        submit_order,
        "delay",
        lambda order_id: submit_order.apply_async((order_id,), connection=connection_to_broker),
    )


def test_orders_survive_a_worker_killed_mid_submission(account, redis_url, monkeypatch):
    require(
        connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL), shared with the worker"
    )
    broker = redis_url.rsplit("/", 1)[0] + "/4"
    redis.Redis.from_url(broker).flushdb()
    send_to(broker, monkeypatch)
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


def test_a_worker_killed_between_the_brokers_answer_and_its_recording(
    account, redis_url, monkeypatch, tmp_path
):
    """Nothing lost, nothing applied twice: the broker acknowledged the order, the worker died
    before recording it, and the redelivered task (and the relay's duplicate) finish it."""
    require(
        connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL), shared with the worker"
    )
    broker = redis_url  # this checkout's own Redis database
    redis.Redis.from_url(broker).flushdb()
    send_to(broker, monkeypatch)
    placed = [
        order_place(account=account, request=request(quantity=1, client_order_id=f"die-{n}")).order
        for n in range(3)
    ]
    marker = tmp_path / "died"
    worker = start_worker(
        broker, "orders.tests.dying_worker", PAPER_LATENCY_MS="0", DYING_WORKER_MARKER=str(marker)
    )
    try:
        wait_for(marker.exists, 60, "the worker to die after the broker's answer")
        died_on = int(marker.read_text())
        # The broker has it; we have not recorded it.
        assert PaperOrder.objects.filter(order_id=died_on).count() == 1
        assert Order.objects.get(pk=died_on).broker_order_id == ""
        outbox_relay()  # a duplicate of the redelivery, as the relay would send
        wait_for(
            lambda: Order.objects.filter(status="COMPLETE").count() == len(placed),
            90,
            "every order filled",
        )
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)

    assert OrderOutbox.objects.get(order_id=died_on).attempts >= 2
    for order in Order.objects.filter(pk__in=[o.pk for o in placed]):
        paper = PaperOrder.objects.get(order=order)  # sent once: one order at the exchange
        assert order.broker_order_id == paper.exchange_order_id
        fills = Fill.objects.filter(order=order)
        assert fills.count() == paper.executions == 1  # filled once
        debits = LedgerEntry.objects.filter(order=order, kind=LedgerKind.TRADE_DEBIT)
        assert debits.count() == 1
        assert OrderOutbox.objects.get(order=order).sent_at is not None
    assert_invariants(account)
