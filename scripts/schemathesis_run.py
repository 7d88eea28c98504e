"""Fuzz the API against its own OpenAPI schema with schemathesis, as a trader and as staff.

What it does, in a throwaway embedded profile (a temporary TRADINGSITE_DATA_DIR, SQLite):

1. migrates, runs ``demo_seed`` and adds fixture data through the services (orders that
   are open, filled and cancelled, API keys, limit changes waiting for a checker, kill
   switches, a task result), so generated requests name things that exist;
2. starts gunicorn on a free loopback port, with the API rate limits and the sign-in
   lockout raised for this run only (the production defaults stay as they are);
3. runs schemathesis against ``/api/schema/`` once as ``trader`` and once as ``admin``,
   each with a signed-in session (staff: verified by their authenticator, as the admin's
   sign-in leaves it; HTTP Basic would hash the password on every request, about half a
   second of CPU each, and skip the second factor), every phase on, with the
   checks not_a_server_error, status_code_conformance, content_type_conformance,
   response_schema_conformance and response_headers_conformance;
4. stops the server however the run ends. The exit status is 0 only if both runs are.

    python scripts/schemathesis_run.py [--max-examples N] [--seed N] [--only trader|staff]

The fixture step (``--fixtures``) runs inside Django and is called by the driver itself.
"""

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
]
PHASES = ["examples", "coverage", "fuzzing", "stateful"]
#: persona: (username, what it is)
PERSONAS = {"trader": ("trader", "a trader"), "staff": ("admin", "staff (administrator)")}
#: Raised for this run only: fuzzing sends hundreds of requests a second from one user.
RUN_ENV = {
    "MARKETDATA_ALWAYS_OPEN": "true",  # orders reach the risk checks at any hour
    "MARKETDATA_DEMO_HISTORY_SESSIONS": "1",
    "MARKETDATA_DEMO_DAILY_SESSIONS": "2",
    "MARKETDATA_ACCESS_SAMPLE_RATE": "0",
    "CELERY_TASK_ALWAYS_EAGER": "true",  # accepted orders reach the paper exchange
    "API_RATE_PER_USER": "100000",
    "API_RATE_PER_KEY": "100000",
    "API_RATE_PER_ACCOUNT": "100000",
    "API_ORDER_RATE": "100000",
    "API_ORDER_RATE_REGISTERED": "100000",
    "LOGIN_FAILURE_LIMIT": "100000",
    "LOG_LEVEL": "ERROR",  # 4xx answers are the point here; tracebacks still show
}


# --- Fixture data (runs inside Django) ---------------------------------------------------------


def seed_fixtures(out: Path) -> None:
    """Data for generated requests to find, made through the services; ids go to ``out``."""
    import django

    django.setup()
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django_celery_results.models import TaskResult

    from marketdata.models import Instrument
    from marketdata.pricecache import quote_get
    from ops.apikeys import api_key_create, api_key_revoke
    from ops.models import ApiKey
    from orders.choices import OrderStatus, OrderType, Product, TransactionType
    from orders.models import Order, TradingAccount
    from orders.services import order_cancel, order_place
    from orders.validation import OrderRequest
    from risk.choices import KillSwitchLevel, LimitKind, Scope
    from risk.services import kill_switch_trip, limit_propose

    users = get_user_model().objects
    trader, admin, risk = (users.get(username=u) for u in ("trader", "admin", "risk"))
    account = TradingAccount.objects.get(code="TS0001")
    account.users.add(admin)  # so staff may act on it (place orders, issue keys)

    def place(symbol: str, order_type: str, quantity: int, price=None) -> int:
        request = OrderRequest(
            exchange="NSE", tradingsymbol=symbol, transaction_type=TransactionType.BUY,
            order_type=order_type, product=Product.CNC, quantity=quantity, price=price,
        )  # fmt: skip
        order = order_place(account=account, request=request, actor=trader).order
        if order.status == OrderStatus.REJECTED:
            raise SystemExit(f"fixture order rejected: {order.rejection_reasons}")
        return order.pk

    # Limit buys 7% under the market rest (the demo's fat-finger limit is 10%).
    below = (quote_get("NSE:INFY").last_price * Decimal("0.93")).quantize(Decimal("0.1"))
    resting = [place("INFY", OrderType.LIMIT, 5, below) for _ in range(4)]
    filled = place("TCS", OrderType.MARKET, 2)
    cancelled = place("INFY", OrderType.LIMIT, 1, below)
    order_cancel(order=Order.objects.get(pk=cancelled), actor=trader)

    keys = []
    for owner in (trader, admin):
        for label in ("fuzz key", "fuzz key 2"):
            key, _ = api_key_create(
                actor=owner, user=owner, account=account, label=label, scope=ApiKey.Scope.TRADE,
                primary_ip="127.0.0.1",
            )  # fmt: skip
            keys.append(key.key_id)
    revoked, _ = api_key_create(
        actor=trader, user=trader, account=account, label="revoked", primary_ip="127.0.0.1"
    )
    api_key_revoke(actor=trader, key=revoked)
    keys.append(revoked.key_id)

    changes = [
        limit_propose(
            actor=risk, scope=Scope.ACCOUNT, kind=LimitKind.MAX_ORDER_VALUE,
            value=Decimal(2_000_000 + n), account=account, reason="fuzzing fixture",
        ).pk
        for n in range(4)
    ]  # fmt: skip
    sbin = Instrument.objects.get(tradingsymbol="SBIN")
    switches = [
        kill_switch_trip(
            level=KillSwitchLevel.INSTRUMENT, reason="fuzzing fixture", actor=risk,
            instrument=sbin,
        )[0].pk
        for _ in range(3)
    ]  # fmt: skip
    task = TaskResult.objects.create(
        task_id="fuzz-0001", task_name="ops.tasks.heartbeat", status="SUCCESS", result="null"
    )
    backtests = backtest_fixtures(trader, admin)
    data = {
        "orders": [*resting, filled, cancelled],
        "api_keys": keys,
        "limit_changes": changes,
        "kill_switches": switches,
        "task_ids": [task.task_id],
        "backtests": backtests["ids"],
        "backtest_data": backtests["data"],
        "sessions": {p: signed_in(users.get(username=u)) for p, (u, _) in PERSONAS.items()},
    }
    out.write_text(json.dumps(data, indent=2))


def backtest_fixtures(trader, admin) -> dict:
    """Backtest runs of the demo's INFY bars (one succeeded for each persona, one queued),
    and the strategy, interval and dates a generated request may name."""
    from marketdata.calendar import IST
    from marketdata.models import Bar, Instrument
    from strategies.services import backtest_execute, backtest_request

    infy = Instrument.objects.get(tradingsymbol="INFY")
    interval = Bar.objects.filter(instrument=infy).values_list("interval", flat=True).first()
    bars = Bar.objects.filter(instrument=infy, interval=interval).order_by("start")
    first = bars.first().start.astimezone(IST).date()
    last = bars.last().start.astimezone(IST).date()
    data = {
        "strategy": "sma_cross", "params": {"fast": 3, "slow": 8}, "instrument": "NSE:INFY",
        "interval": interval, "date_from": first, "date_to": last, "quantity": 5,
    }  # fmt: skip
    ids = [
        backtest_execute(backtest_request(user=user, data=data, enqueue=False).pk).pk
        for user in (trader, admin)
    ]
    ids.append(backtest_request(user=trader, data=data, enqueue=False).pk)  # stays queued
    return {
        "ids": ids,
        "data": {"interval": interval, "dates": [str(first), str(last)]},
    }


def signed_in(user) -> dict[str, str]:
    """The Cookie and CSRF headers of a session signed in as ``user`` (staff: with the
    second factor), as the admin's sign-in would leave it."""
    from django.conf import settings
    from django.test import Client
    from django.utils.crypto import get_random_string
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(user)  # sends user_logged_in: audited, stamped for the daily logout
    if user.is_staff:  # verified by the authenticator the demo seed gave them
        stored = client.session
        device = TOTPDevice.objects.get(user=user, confirmed=True)
        stored[DEVICE_ID_SESSION_KEY] = device.persistent_id
        stored.save()
    csrf = get_random_string(32)  # a CSRF secret: the cookie, and the header that echoes it
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return {
        "Cookie": f"{settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={csrf}",
        settings.CSRF_HEADER_NAME.removeprefix("HTTP_").replace("_", "-"): csrf,
    }


# --- The driver --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def toml_list(values) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def write_config(path: Path, fixtures: dict) -> None:
    """A schemathesis.toml whose dictionaries hold the fixture data: most generated values
    for these parameters come from them, the rest are fuzzed as usual."""
    dictionaries = {
        "accounts": ["TS0001", "TS0002", "TS0009"],
        "symbols": ["INFY", "TCS", "RELIANCE", "SBIN"],
        "instrument_keys": ["NSE:INFY", "NSE:TCS", "NSE:RELIANCE", "NSE:NOSUCH"],
        "indices": ["NIFTY 50"],
        "orders": fixtures["orders"] + [999999],
        "api_keys": fixtures["api_keys"],
        "limit_changes": fixtures["limit_changes"],
        "kill_switches": fixtures["kill_switches"],
        "task_ids": fixtures["task_ids"],
        "audit_seqs": [1, 2, 10, 50],
        "dates": [str(date.today() - timedelta(days=n)) for n in (0, 1, 3, 7)],
        "days": [1, 30, 365, 366],
        "ips": ["127.0.0.1", "::1", "192.0.2.10"],
        "backtests": fixtures["backtests"] + [999999],
        "strategies": ["sma_cross", "rsi_reversion", "pairs", "nosuch"],
        "intervals": [fixtures["backtest_data"]["interval"], "1d"],
        "backtest_dates": fixtures["backtest_data"]["dates"],
    }
    lines = ["# Written by scripts/schemathesis_run.py for one run; not kept.", ""]
    for name, values in dictionaries.items():
        lines.append(f"[dictionaries.{name}]\nvalues = {toml_list(values)}\n")

    def bind(name: str, probability: float = 0.8) -> str:
        return f'{{ dictionary = "{name}", probability = {probability} }}'

    lines += [
        "[parameters]",
        f'"path.code" = {bind("accounts")}',
        f'"query.account" = {bind("accounts")}',
        f'"body.account" = {bind("accounts")}',
        f'"body.tradingsymbol" = {bind("symbols")}',
        f'"query.tradingsymbol" = {bind("symbols", 0.5)}',
        f'"path.key" = {bind("instrument_keys")}',
        f'"query.index" = {bind("indices", 0.5)}',
        f'"path.key_id" = {bind("api_keys")}',
        f'"path.task_id" = {bind("task_ids")}',
        f'"path.seq" = {bind("audit_seqs")}',
        f'"body.days" = {bind("days", 0.5)}',
        f'"query.from" = {bind("dates")}',
        f'"query.to" = {bind("dates")}',
        f'"body.primary_ip" = {bind("ips")}',
        f'"body.strategy" = {bind("strategies")}',
        f'"body.instrument" = {bind("instrument_keys")}',
        f'"body.interval" = {bind("intervals")}',
        f'"body.date_from" = {bind("backtest_dates")}',
        f'"body.date_to" = {bind("backtest_dates")}',
        "",
    ]
    for path_regex, dictionary in [
        ("^/api/v1/orders/", "orders"),
        ("^/api/v1/risk/limit-changes/", "limit_changes"),
        ("^/api/v1/risk/kill-switches/", "kill_switches"),
        ("^/api/v1/backtests/", "backtests"),
    ]:
        lines += [
            "[[operations]]",
            f'include-path-regex = "{path_regex}"',
            f'parameters = {{ "path.id" = {bind(dictionary)} }}',
            "",
        ]
    path.write_text("\n".join(lines))


def wait_until_up(url: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the web server exited with {server.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - loopback
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the web server did not answer {url} within {timeout:.0f} s")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the server is stopped too
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=50, help="cases per operation/phase")
    parser.add_argument("--seed", type=int, default=None, help="reproduce an earlier run")
    parser.add_argument("--workers", default="2", help="schemathesis workers")
    parser.add_argument("--only", choices=sorted(PERSONAS), help="run as one persona only")
    parser.add_argument(
        "--timeout", type=int, default=900, help="give up on a persona after this many seconds"
    )
    parser.add_argument("--report-dir", type=Path, help="keep JUnit and HAR reports here")
    parser.add_argument("--pause", action="store_true", help="serve the fixtures; fuzz nothing")
    parser.add_argument("--fixtures", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fixtures:
        seed_fixtures(args.fixtures)
        return 0

    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    workdir = Path(tempfile.mkdtemp(prefix="ts-schemathesis-"))
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "TRADINGSITE_ENV"}
    }
    env |= RUN_ENV | {"TRADINGSITE_DATA_DIR": str(workdir / "data"), "PYTHONUNBUFFERED": "1"}
    server = None
    started = time.monotonic()
    stack = contextlib.ExitStack()
    try:
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        subprocess.run(
            [*manage, "demo_seed"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
        )
        fixtures_file = workdir / "fixtures.json"
        subprocess.run(
            [sys.executable, __file__, "--fixtures", str(fixtures_file)],
            cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE": "tradingsite.settings",
                           "PYTHONPATH": str(ROOT)},
            check=True,
        )  # fmt: skip
        fixtures = json.loads(fixtures_file.read_text())
        sessions = fixtures.pop("sessions")
        config = workdir / "schemathesis.toml"
        write_config(config, fixtures)
        print(f"schemathesis: fixtures ready in {time.monotonic() - started:.0f} s: {fixtures}")

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server_log = stack.enter_context((workdir / "server.log").open("w"))
        # No request-line limit: over-long URLs reach Django (400 problem+json) instead of
        # gunicorn's own 414 page, which is the front server's answer, not the API's.
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "tradingsite.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", "2", "--threads", "2", "--timeout", "60",
             "--limit-request-line", "0"],
            cwd=ROOT, env=env, start_new_session=True, stdout=server_log, stderr=server_log,
        )  # fmt: skip
        wait_until_up(f"{base}/health", server)
        if args.pause:
            print(f"Serving {base}; sessions: {json.dumps(sessions)}; Ctrl-C stops.", flush=True)
            signal.pause()

        results = {}
        for persona in [args.only] if args.only else list(PERSONAS):
            username, what = PERSONAS[persona]
            command = [
                str(BIN / "schemathesis"), "--config-file", str(config), "run",
                f"{base}/api/schema/", "--url", base,
                *(f"--header={name}: {value}" for name, value in sessions[persona].items()),
                "--checks", ",".join(CHECKS), "--phases", ",".join(PHASES),
                "--max-examples", str(args.max_examples), "--seed", str(seed),
                "--workers", args.workers, "--request-timeout", "30",
                "--generation-database", "none", "--no-color",
                # Our session is the credential; invented Basic or Signature headers would
                # only test the 401 path (covered by the unit tests), at a hash per request.
                "--generation-with-security-parameters", "false",
            ]  # fmt: skip
            if args.report_dir:
                command += [
                    "--report", "junit,har", "--report-dir", str(args.report_dir / persona),
                ]  # fmt: skip
            print(f"\n== schemathesis as {what} ({username}), seed {seed}", flush=True)
            begun = time.monotonic()
            try:
                run = subprocess.run(command, cwd=workdir, env=env, timeout=args.timeout)
                results[persona] = run.returncode
            except subprocess.TimeoutExpired:
                print(f"== {persona}: still running after {args.timeout} s; stopped", flush=True)
                results[persona] = 124
            took = time.monotonic() - begun
            print(f"== {persona}: exit {results[persona]} in {took:.0f} s", flush=True)
        failed = [p for p, code in results.items() if code != 0]
    finally:
        if server is not None:
            stop(server)
        stack.close()
        logged = (workdir / "server.log").read_text() if (workdir / "server.log").exists() else ""
        shutil.rmtree(workdir, ignore_errors=True)
    if "Traceback" in logged:  # a failure schemathesis could not see (e.g. after the answer)
        failed.append("server")
        print(f"\nThe server logged errors:\n{logged[logged.index('Traceback') :][:20000]}")
    print(
        f"\nschemathesis: {'FAILED: ' + ', '.join(failed) if failed else 'passed'} "
        f"(seed {seed}, {time.monotonic() - started:.0f} s in all)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
