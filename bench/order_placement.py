"""Order placement throughput and latency under gunicorn + PostgreSQL, against a baseline.

    .venv/bin/python bench/order_placement.py [--clients 8] [--requests 150] [--json out.json]

It creates a scratch database (``tradingsite_bench``), migrates and seeds it (NIFTY 50, a
funded account, a Trader), starts gunicorn on the production profile (PostgreSQL, Redis
cache and broker), and has ``--clients`` threads, each with its own connection and all
with one signed-in session (staff sign in with a two-factor code, and a code works once),
send requests back to back:

- **orders**: ``POST /api/v1/orders``, a 1-share LIMIT buy, each with its own
  client_order_id: the whole placement path (account lock, validation, funds, audit
  event, outbox row, enqueueing the submission).
- **baseline**: ``POST /bench/baseline``, a bare DRF endpoint on the same server that
  authenticates, parses JSON and writes two rows in one transaction.

Both run in the same process, one after the other, after a warm-up. It prints throughput
and p50/p99 latency for each, and their ratio. No worker runs, so submissions only queue.
The API rate limits are raised out of the way (the bench measures placement, not the
throttle, which still spends its Redis tokens on every request), and a field-encryption
keyring is made for the production profile.
"""

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

from django_otp.oath import TOTP

ROOT = Path(__file__).resolve().parents[1]
PG = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379")
DATABASE = "tradingsite_bench"
PORT = 8791
PASSWORD = "bench-password-not-secret-1"
TOTP_KEY = "62656e63682d746f74702d6b65792d6e6f742d73"  # the bench user's authenticator (hex)

SEED = f"""
from decimal import Decimal
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from compliance.models import Client
from orders.models import TradingAccount
from orders.services import funds_move
call_command("import_instruments", "--nifty50")
client = Client.objects.create(name="Bench", pan="ABCPB1234C", kyc_status="verified")
account = TradingAccount.objects.create(code="BENCH1", client=client)
user = User.objects.create_user("bench", password="{PASSWORD}", is_staff=True)  # to sign in
user.groups.add(Group.objects.get(name="Trader"))
from django_otp.plugins.otp_totp.models import TOTPDevice
TOTPDevice.objects.create(user=user, name="bench", key="{TOTP_KEY}", confirmed=True)
account.users.add(user)
funds_move(account=account, kind="deposit", amount=Decimal("100000000.00"))
from risk.services import limit_decide, limit_propose
maker = User.objects.create_user("bench-risk-1")
checker = User.objects.create_user("bench-risk-2")
change = limit_propose(
    actor=maker, scope="firm", kind="order_rate_per_second", value=Decimal(100000),
    reason="benchmark: measure placement, not the SEBI rate limit",
)
limit_decide(change=change, actor=checker, approve=True)
"""


def run(*args: str, env: dict) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def recreate_database() -> None:
    import psycopg2

    conn = psycopg2.connect(f"{PG}/postgres")
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        cursor.execute(f"CREATE DATABASE {DATABASE}")
    conn.close()


class Session:
    """One signed-in browser-like client: session cookie and CSRF token, keep-alive connection."""

    def __init__(self, cookies: dict[str, str] | None = None) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        self.cookies: dict[str, str] = dict(cookies or {})
        if cookies:
            return
        status, body = self._request("GET", "/admin/login/")
        if "csrftoken" not in self.cookies:
            raise RuntimeError(f"no CSRF cookie from the login page ({status}): {body[:200]!r}")
        form = urllib.parse.urlencode(
            {
                "username": "bench",
                "password": PASSWORD,
                "otp_token": str(TOTP(bytes.fromhex(TOTP_KEY)).token()).zfill(6),
                "csrfmiddlewaretoken": self.cookies["csrftoken"],
            }
        )
        status, _ = self._request(
            "POST", "/admin/login/?next=/admin/", form, "application/x-www-form-urlencoded"
        )
        if "sessionid" not in self.cookies:
            raise RuntimeError(f"login failed ({status})")

    def _request(
        self, method: str, path: str, body: str = "", content_type: str = "application/json"
    ):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if method == "POST":
            headers |= {
                "Content-Type": content_type,
                "X-CSRFToken": self.cookies.get("csrftoken", ""),
            }
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, value = re.match(r"([^=]+)=([^;]*)", header).groups()
            self.cookies[name] = value
        return response.status, data

    def post(self, path: str, payload: dict) -> tuple[int, float]:
        started = time.perf_counter()
        status, data = self._request("POST", path, json.dumps(payload))
        elapsed = time.perf_counter() - started
        if status not in (200, 201):
            raise RuntimeError(f"{path} answered {status}: {data[:300]!r}")
        return status, elapsed


def load(
    path: str, make_payload, *, clients: int, per_client: int, sessions: list[Session]
) -> dict:
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def client(index: int) -> None:
        mine = []
        barrier.wait()
        for n in range(per_client):
            mine.append(sessions[index].post(path, make_payload(index, n))[1])
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "seconds": round(wall, 2),
        "throughput": round(len(ordered) / wall, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 1),
    }


KEYRING = Path("/tmp/tradingsite-bench/field_keys")


def make_keyring() -> None:
    if not KEYRING.exists():
        KEYRING.parent.mkdir(parents=True, exist_ok=True)
        code = "from ops.crypto import Keyring; print(Keyring.fresh().dumps(), end='')"
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
        )
        KEYRING.write_text(done.stdout)
        KEYRING.chmod(0o600)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=150, help="per client, per endpoint")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    recreate_database()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "TRADINGSITE_ENV": "production",
        "SECRET_KEY": "bench-" + "x" * 60,
        "DATABASE_URL": f"{PG}/{DATABASE}",
        "REDIS_URL": f"{REDIS}/5",
        "CELERY_BROKER_URL": f"{REDIS}/6",
        "SECURE_SSL_REDIRECT": "false",
        "MARKETDATA_ALWAYS_OPEN": "true",
        "MARKETDATA_ACCESS_SAMPLE_RATE": "0",
        "LOG_LEVEL": "WARNING",
        "TRADINGSITE_DATA_DIR": "/tmp/tradingsite-bench",
        "FIELD_ENCRYPTION_KEYRING": str(KEYRING),
        "API_ORDER_RATE": "1000000",
        "API_RATE_PER_USER": "1000000",
    }
    make_keyring()
    print("migrating and seeding the scratch database ...", flush=True)
    run("migrate", "-v0", env=env)
    run("collectstatic", "--noinput", "-v0", env=env)
    run("shell", "-c", SEED, env=env)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "tradingsite.wsgi", "--bind", f"127.0.0.1:{PORT}",
         "--workers", str(args.workers), "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", PORT, timeout=1).request("GET", "/health")
                break
            except OSError:
                time.sleep(0.1)
        first = Session()
        sessions = [first, *(Session(first.cookies) for _ in range(args.clients - 1))]

        def order(index: int, n: int, phase: str = "run") -> dict:
            return {
                "account": "BENCH1", "tradingsymbol": "INFY", "transaction_type": "BUY",
                "order_type": "LIMIT", "price": "1000.00", "product": "CNC", "quantity": 1,
                "client_order_id": f"{phase}-{index}-{n}",
            }  # fmt: skip

        def baseline(index: int, n: int) -> dict:
            return {"key": f"{index}-{n}"}

        warm = {"clients": args.clients, "per_client": 20, "sessions": sessions}
        load("/api/v1/orders", lambda i, n: order(i, n, "warm"), **warm)
        load("/bench/baseline", baseline, **warm)
        measured = {"clients": args.clients, "per_client": args.requests, "sessions": sessions}
        results = {
            "baseline": load("/bench/baseline", baseline, **measured),
            "orders": load("/api/v1/orders", order, **measured),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
    results["ratio"] = {
        "throughput": round(results["baseline"]["throughput"] / results["orders"]["throughput"], 2),
        "p50": round(results["orders"]["p50_ms"] / results["baseline"]["p50_ms"], 2),
        "p99": round(results["orders"]["p99_ms"] / results["baseline"]["p99_ms"], 2),
    }
    results["config"] = {
        "clients": args.clients,
        "requests_per_client": args.requests,
        "workers": args.workers,
    }
    print(f"\n{'endpoint':<12}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for name in ("baseline", "orders"):
        r = results[name]
        print(f"{name:<12}{r['requests']:>9}{r['throughput']:>9}{r['p50_ms']:>9}{r['p99_ms']:>9}")
    ratio = results["ratio"]
    print(
        f"\norder placement costs {ratio['throughput']}x the baseline in throughput; "
        f"latency {ratio['p50']}x at p50, {ratio['p99']}x at p99 "
        f"({args.clients} clients, {args.workers} gunicorn workers)"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
