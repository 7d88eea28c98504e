"""Liveness and readiness: /ready names each failing dependency and answers 503."""

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from tradingsite.celery import app as celery_app

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused


@pytest.fixture
def dead_redis_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": DEAD_REDIS,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }


@pytest.fixture
def dead_redis_broker(monkeypatch):
    monkeypatch.setattr(celery_app.conf, "broker_url", DEAD_REDIS)


def test_health_does_no_io(client):
    # No django_db mark: any database access here would raise and fail the test.
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_ready_when_every_check_passes(client):
    response = client.get("/ready")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "cache", "broker", "migrations"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["database"]["backend"] == connection.vendor
    assert body["worker"] == {"last_heartbeat": None}


@pytest.mark.django_db
def test_ready_names_redis_when_the_cache_is_down(client, dead_redis_cache):
    response = client.get("/ready")
    body = response.json()
    assert response.status_code == 503
    assert body["failing"] == ["cache (redis)"]
    assert "cache (redis)" in body["detail"]
    assert "Connection refused" in body["checks"]["cache"]["error"] or "Error" in body["detail"]


@pytest.mark.django_db
def test_ready_names_redis_when_the_broker_is_down(client, dead_redis_broker):
    body = client.get("/ready").json()
    assert body["status"] == "unavailable"
    assert body["failing"] == ["broker (redis)"]


@pytest.mark.django_db
def test_ready_names_unapplied_migrations(client):
    app, name = max(n for n in MigrationLoader(connection).graph.leaf_nodes() if n[0] == "ops")
    MigrationRecorder.Migration.objects.filter(app=app, name=name).delete()
    response = client.get("/ready")
    body = response.json()
    assert response.status_code == 503
    assert body["failing"] == [f"migrations ({connection.vendor})"]
    assert f"ops.{name}" in body["checks"]["migrations"]["error"]


@pytest.mark.django_db
def test_ready_reports_the_last_worker_heartbeat(client):
    from django_celery_results.models import TaskResult

    TaskResult.objects.create(task_id="hb-1", task_name="ops.tasks.heartbeat", status="SUCCESS")
    worker = client.get("/ready").json()["worker"]
    assert worker["age_s"] <= 5
    assert worker["stale"] is False


def test_metrics_are_exported(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert "django_http_requests_before_middlewares_total" in response.content.decode()
