"""Liveness (/health) and readiness (/ready) endpoints for probes and load balancers.

/health does no I/O: it answers as long as the process serves requests.
/ready runs each dependency check and answers 503 naming every one that failed.
"""

import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from tradingsite.celery import app as celery_app

BROKER_TIMEOUT_SECONDS = 3.0


def _database() -> None:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _cache() -> None:
    cache = caches["default"]
    key, token = f"ready:{uuid.uuid4().hex}", uuid.uuid4().hex
    cache.set(key, token, timeout=10)
    echoed = cache.get(key)
    cache.delete(key)
    if echoed != token:
        raise RuntimeError("a value written to the cache did not read back")


def _broker() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(
            max_retries=1, interval_start=0, interval_step=0.2, timeout=BROKER_TIMEOUT_SECONDS
        )


def _migrations() -> None:
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:5])
        raise RuntimeError(f"{len(plan)} unapplied migration(s): {names}")


def _database_vendor() -> str:
    return connections[DEFAULT_DB_ALIAS].vendor


#: Each check, and the server it depends on, so that a failure names where to look.
CHECKS: dict[str, tuple[Callable[[], None], Callable[[], str]]] = {
    "database": (_database, _database_vendor),
    "cache": (
        _cache,
        lambda: "redis" if "redis" in type(caches["default"]).__module__ else "local",
    ),
    "broker": (_broker, lambda: celery_app.conf.broker_url.split(":", 1)[0]),
    "migrations": (_migrations, _database_vendor),
}


def run_checks() -> dict[str, dict]:
    results = {}
    for name, (check, backend) in CHECKS.items():
        started = time.perf_counter()
        result: dict = {"ok": True, "backend": backend()}
        try:
            check()
        except Exception as exc:
            result.update(ok=False, error=str(exc)[:300] or type(exc).__name__)
        result["ms"] = round((time.perf_counter() - started) * 1000, 1)
        results[name] = result
    return results


def last_worker_heartbeat() -> dict:
    """When a Celery worker last ran the beat-scheduled heartbeat (informational only)."""
    from django_celery_results.models import TaskResult

    done = (
        TaskResult.objects.filter(task_name="ops.tasks.heartbeat", status="SUCCESS")
        .order_by("-date_done")
        .values_list("date_done", flat=True)
        .first()
    )
    if done is None:
        return {"last_heartbeat": None}
    age = timezone.now() - done
    return {
        "last_heartbeat": timezone.localtime(done).isoformat(),
        "age_s": int(age.total_seconds()),
        "stale": age > timedelta(minutes=3),
    }


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    checks = run_checks()
    failing = [f"{name} ({c['backend']})" for name, c in checks.items() if not c["ok"]]
    body: dict = {"status": "unavailable" if failing else "ready", "checks": checks}
    if failing:
        body["failing"] = failing
        body["detail"] = "Not ready: " + "; ".join(
            f"{name} ({c['backend']}): {c['error']}" for name, c in checks.items() if not c["ok"]
        )
    elif checks["database"]["ok"]:
        body["worker"] = last_worker_heartbeat()
    return JsonResponse(body, status=503 if failing else 200)
