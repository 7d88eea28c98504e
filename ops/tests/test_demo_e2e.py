"""The embedded demo from nothing: web, worker, beat and feed come up, the admin login works
(password and the TOTP code of the printed 2FA key), and the market watch shows NIFTY 50
quotes moving."""

import base64
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
from django_otp.oath import TOTP

from conftest import BASE_DIR, free_port
from tradingsite.tests.browser import offline_page, screenshot

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)
    except OSError:
        return 0, {}


def _authorized(
    url: str, user: str, password: str, body: dict | None = None
) -> urllib.request.Request:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json"}
    return urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 - loopback only


def post_json(url: str, body: dict, *, user: str, password: str) -> dict:
    with urllib.request.urlopen(_authorized(url, user, password, body), timeout=30) as response:  # noqa: S310
        return json.load(response)


def get_json_as(url: str, user: str, password: str) -> dict:
    with urllib.request.urlopen(_authorized(url, user, password), timeout=30) as response:  # noqa: S310
        return json.load(response)


def test_demo_runs_web_worker_and_beat(tmp_path, chromium):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"PATH": os.environ["PATH"], "TRADINGSITE_DATA_DIR": str(tmp_path), "HOME": str(tmp_path)}
    demo = subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--bind", f"127.0.0.1:{port}"],
        cwd=BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(demo.stdout), daemon=True).start()
    try:
        deadline = time.monotonic() + 180
        body: dict = {}
        while time.monotonic() < deadline and demo.poll() is None:
            status, body = get_json(f"{base}/ready")
            if status == 200 and body.get("worker", {}).get("last_heartbeat"):
                break
            time.sleep(1)
        assert body.get("status") == "ready", "".join(lines[-40:])
        assert body["checks"]["broker"]["backend"] == "filesystem"
        assert body["checks"]["database"]["backend"] == "sqlite"
        # The heartbeat was scheduled by beat and executed by the worker.
        assert body["worker"]["age_s"] < 120
        # The worker warmed the price cache when it started.
        with sqlite3.connect(tmp_path / "tradingsite.sqlite3") as db:
            warmed = db.execute(
                "SELECT result FROM django_celery_results_taskresult "
                "WHERE task_name = 'marketdata.tasks.warm_price_cache' AND status = 'SUCCESS'"
            ).fetchone()
        assert warmed is not None
        assert json.loads(warmed[0])["warmed"] == 50

        # A trader places a market order through the API; the worker submits it and the
        # paper exchange fills it against the feed's quote.
        trader_row = next(line for line in lines if line.strip().startswith("trader "))
        placed = post_json(
            f"{base}/api/v1/orders",
            {"account": "TS0001", "tradingsymbol": "INFY", "transaction_type": "BUY",
             "order_type": "MARKET", "product": "CNC", "quantity": 5},
            user="trader", password=trader_row.split()[-1],
        )  # fmt: skip
        assert placed["status"] == "ACCEPTED", placed
        order = {}
        # The worker first works off what the seed queued (the surveillance demo's planted
        # orders, their cancels, screening and KRA tasks): give it up to 5 minutes.
        for _ in range(600):
            order = get_json_as(
                f"{base}/api/v1/orders/{placed['order_id']}", "trader", trader_row.split()[-1]
            )
            if order["status"] == "COMPLETE":
                break
            time.sleep(0.5)
        assert (order["status"], order["filled_quantity"]) == ("COMPLETE", 5), order

        admin_row = next(line for line in lines if line.strip().startswith("admin "))
        *_, key, password = admin_row.split()  # the 2FA key printed once, then the password
        authenticator = TOTP(base64.b32decode(key + "=" * (-len(key) % 8)))
        with offline_page(chromium, base) as (page, blocked):
            page.goto(f"{base}/admin/")
            page.fill("#id_username", "admin")
            page.fill("#id_password", password)
            page.fill("#id_otp_token", str(authenticator.token()).zfill(6))
            page.click("input[type=submit]")
            page.get_by_role("heading", name="Back office").wait_for(timeout=20000)
            assert "Periodic tasks" in page.content()
            screenshot(page, "demo-admin")
            # The feed process publishes through the shared cache; the page shows it moving.
            page.goto(f"{base}/admin/marketdata/instrument/watch/")
            prices = page.locator("#market-watch tbody td.ltp")
            prices.nth(49).wait_for(timeout=20000)
            first = prices.all_inner_texts()
            page.wait_for_timeout(4000)
            later = prices.all_inner_texts()
            assert sum(a != b for a, b in zip(first, later, strict=True)) >= 10
            screenshot(page, "demo-market-watch")
            assert blocked == []
    finally:
        os.killpg(demo.pid, signal.SIGTERM)
        try:
            demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
