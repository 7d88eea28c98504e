"""Celery: configuration, and a real worker consuming a task from real Redis."""

import os
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings
from django.db import connection
from django_celery_results.models import TaskResult

from conftest import BASE_DIR, require
from ops.tasks import heartbeat
from tradingsite.celery import app


def test_json_only_and_safe_redelivery():
    conf = app.conf
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.result_accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1


def test_queues_and_routes():
    assert {q.name for q in app.conf.task_queues} == {
        "execution",
        "marketdata",
        "maintenance",
        "reports",
        "backtests",
    }
    assert app.amqp.router.route({}, "orders.tasks.submit_order")["queue"].name == "execution"
    assert app.amqp.router.route({}, "marketdata.tasks.warm")["queue"].name == "marketdata"
    assert app.amqp.router.route({}, "ops.tasks.heartbeat")["queue"].name == "maintenance"
    for task in ("compliance.tasks.report_export", "compliance.tasks.report_export_scheduled"):
        assert app.amqp.router.route({}, task)["queue"].name == "reports"
    assert app.amqp.router.route({}, "compliance.tasks.audit_seal")["queue"].name == "maintenance"
    assert app.amqp.router.route({}, "strategies.tasks.backtest_run")["queue"].name == "backtests"


def test_beat_uses_the_database_scheduler():
    assert app.conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"


def test_heartbeat_task_reports_host_and_time():
    result = heartbeat.apply().get()
    assert result["host"]
    assert result["at"].endswith("+00:00")


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_real_worker_consumes_from_real_redis(redis_url):
    require(
        connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL), shared with the worker"
    )
    queue = f"it-{uuid.uuid4().hex[:8]}"
    broker = redis_url.rsplit("/", 1)[0] + "/2"
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "CELERY_BROKER_URL": broker,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tradingsite", "worker", "--pool", "solo",
         "--queues", queue, "--hostname", f"{queue}@test", "--without-gossip",
         "--without-mingle", "--loglevel", "INFO"],
        cwd=BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        with app.connection_for_write(broker) as conn:
            sent = heartbeat.apply_async(queue=queue, connection=conn)
        deadline = time.monotonic() + 60
        row = None
        while time.monotonic() < deadline and worker.poll() is None:
            row = TaskResult.objects.filter(task_id=sent.id, status="SUCCESS").first()
            if row:
                break
            time.sleep(0.25)
        assert row is not None, "the worker did not record a result within 60 s"
        assert row.worker == f"{queue}@test"
        assert row.task_name == "ops.tasks.heartbeat"
        assert '"host"' in row.result
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0]
    assert f"Task ops.tasks.heartbeat[{sent.id}] succeeded" in output


def procfile_queues(name: str) -> set[str]:
    """Every queue the workers of ``deploy/<name>`` consume (their ``--queues``)."""
    lines = (BASE_DIR / "deploy" / name).read_text().splitlines()
    found = set()
    for line in lines:
        words = line.split()
        if "worker" in words and "--queues" in words:
            found |= set(words[words.index("--queues") + 1].split(","))
    return found


@pytest.mark.parametrize("procfile", ["Procfile", "Procfile.demo"])
def test_the_workers_consume_every_queue(procfile):
    # A queue no worker consumes (reports, say) would leave its tasks waiting for ever.
    assert procfile_queues(procfile) == {q.name for q in app.conf.task_queues}
