"""/ready against a real Redis server that is stopped and started again."""

import shutil
import subprocess
import time

import pytest

from conftest import free_port, require
from tradingsite.celery import app as celery_app

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def start_redis(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        probe = subprocess.run(
            ["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True
        )
        if probe.stdout.strip() == "PONG":
            return server
        time.sleep(0.05)
    server.kill()
    raise RuntimeError("redis-server did not start")


def ready_until(client, status: int, seconds: float = 10) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        response = client.get("/ready")
        if response.status_code == status or time.monotonic() > deadline:
            return {"status_code": response.status_code, **response.json()}
        time.sleep(0.2)


def test_ready_follows_redis_down_and_back(client, settings, monkeypatch):
    require(bool(shutil.which("redis-server")), "the redis-server program")
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }
    monkeypatch.setattr(celery_app.conf, "broker_url", url)
    server = start_redis(port)
    try:
        up = ready_until(client, 200)
        assert up["status_code"] == 200, up
        assert up["checks"]["cache"]["backend"] == "redis"

        server.terminate()
        server.wait(timeout=10)
        down = ready_until(client, 503)
        assert down["status_code"] == 503
        assert down["failing"] == ["cache (redis)", "broker (redis)"]

        server = start_redis(port)
        back = ready_until(client, 200)
        assert back["status_code"] == 200, back
    finally:
        server.kill()
        server.wait(timeout=10)
