"""P2: accept to fill, from the API's 201 to the fill applied and the position updated.

    .venv/bin/python -m bench.fill_latency [--quick] [--orders 300] [--rate 10] [--json PATH]

It makes a scratch database (``ts_bench_p2``) with funded accounts and API keys, warms the
price cache, and starts gunicorn and a real Celery worker on the ``execution`` queue (as
the production Procfile runs it) with the Redis broker. Signed marketable orders (1-share
MARKET buys by default; ``--order-type LIMIT`` buys at the ask) are sent at a fixed rate,
spread over the accounts. The paper exchange fills a marketable order on submission, and
``fill_apply`` writes the fill, the order's COMPLETE status and the position in one
transaction, so an order seen COMPLETE has its position updated.

A poller (its own PostgreSQL connection, every ``--poll-ms``) looks for each order once
its 201 has arrived; the latency is when it first saw it COMPLETE minus when the 201 was
received (both ``time.time()`` in this process; it overstates by up to one poll). Also
reported, from the database's own clock (same machine): ``created_at`` to the COMPLETE
``updated_at`` of each order, the pipeline inside the server.

Baseline in the same run, same rate, same worker and broker: a signed POST to
``/api/bench/enqueue`` that writes a row and queues, on commit, a no-op task on the
``execution`` queue which writes a row of its own; its latency is from the 201 to that row
seen by the same poller. At the end every order must be COMPLETE and the positions must hold
exactly the shares bought, or the run fails.
"""

import argparse
import http.client
import sys
import threading
import time
from pathlib import Path

import psycopg2

from bench import harness

DATABASE = "ts_bench_p2"
PORT = 8802


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))]


def summary(values: list[float]) -> dict:
    ms = [v * 1000 for v in values]
    return {
        "count": len(ms),
        "p50_ms": round(percentile(ms, 50), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "max_ms": round(max(ms), 1),
    }


class Poller(threading.Thread):
    """Watches the database for what the senders registered, stamping when each shows up."""

    def __init__(self, query: str, interval: float) -> None:
        super().__init__(daemon=True)
        self.query, self.interval = query, interval
        self.pending: dict[str, float] = {}  # key -> when its 201 arrived
        self.seen: dict[str, tuple[float, float, object]] = {}  # key -> (201, seen, row)
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def expect(self, key: str, answered_at: float) -> None:
        with self.lock:
            self.pending[key] = answered_at

    def run(self) -> None:
        conn = psycopg2.connect(f"{harness.PG}/{DATABASE}")
        conn.autocommit = True
        with conn.cursor() as cursor:
            while not self.stopping.is_set():
                with self.lock:
                    keys = list(self.pending)
                if keys:
                    cursor.execute(self.query, [keys])
                    now = time.time()
                    rows = cursor.fetchall()
                    with self.lock:
                        for key, *rest in rows:
                            self.seen[str(key)] = (self.pending.pop(str(key)), now, rest)
                time.sleep(self.interval)
        conn.close()


def drive(make, poller: Poller, *, count: int, rate: float, senders: int) -> None:
    """Send ``count`` pre-made requests at ``rate`` a second from ``senders`` threads, each
    on its own keep-alive connection; register each 201 with the poller."""
    reqs = make(count)
    start = time.monotonic() + 0.2
    errors: list[str] = []

    def sender(index: int) -> None:
        conn = http.client.HTTPConnection(harness.HOST, PORT, timeout=30)
        for i in range(index, count, senders):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            req = reqs[i]
            conn.request(req.method, req.path, body=req.body, headers=req.headers)
            response = conn.getresponse()
            body = response.read()
            answered = time.time()
            if response.status != 201:
                errors.append(f"{response.status}: {body[:300]!r}")
                return
            poller.expect(key_of(req, body), answered)

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{len(errors)} requests were not answered 201; first: {errors[0]}")


def key_of(req: harness.Req, body: bytes) -> str:
    import json

    if req.path == "/api/v1/orders":
        return str(json.loads(body)["order_id"])
    return json.loads(req.body)["token"]


def wait_all(poller: Poller, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with poller.lock:
            if not poller.pending:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{len(poller.pending)} not done {timeout} s after the last 201")


ORDERS_DONE = (
    "SELECT id, extract(epoch FROM updated_at - created_at) FROM orders_order "
    "WHERE id = ANY(%s::bigint[]) AND status = 'COMPLETE'"
)
TASKS_DONE = (
    "SELECT keys->>0 FROM marketdata_accesssample "
    "WHERE client = 'bench-done' AND keys->>0 = ANY(%s)"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 orders at 10 a second")
    parser.add_argument("--orders", type=int, default=300, help="orders (and baseline tasks)")
    parser.add_argument("--rate", type=float, default=10, help="requests a second")
    parser.add_argument("--accounts", type=int, default=8)
    parser.add_argument("--order-type", choices=["MARKET", "LIMIT"], default="MARKET")
    parser.add_argument("--poll-ms", type=float, default=5)
    parser.add_argument("--concurrency", type=int, default=4, help="worker processes (Procfile)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.quick:
        args.orders = 60

    env = harness.fresh_database(DATABASE)
    print(f"seeding {args.accounts} accounts ...", flush=True)
    seeded = harness.django_json(
        "import json; from bench.seed import seed_base, seed_accounts; prices = seed_base(); "
        f"print('BENCH_JSON ' + json.dumps({{'prices': prices, "
        f"'accounts': seed_accounts({args.accounts})}}))",
        env,
    )
    accounts, ask = seeded["accounts"], seeded["prices"]["INFY"]["ask"]
    signers = [harness.Signer(PORT, a["key_id"], a["secret"]) for a in accounts]
    numbers = iter(range(10**9))

    def orders(n: int) -> list[harness.Req]:
        reqs = []
        for i in range(n):
            payload = {
                "account": accounts[i % len(accounts)]["account"], "tradingsymbol": "INFY",
                "transaction_type": "BUY", "order_type": args.order_type, "product": "CNC",
                "quantity": 1, "client_order_id": f"f{next(numbers)}",
            }  # fmt: skip
            if args.order_type == "LIMIT":
                payload["price"] = ask
            reqs.append(signers[i % len(signers)].sign("POST", "/api/v1/orders", payload))
        return reqs

    def tasks(n: int) -> list[harness.Req]:
        return [
            signers[i % len(signers)].sign(
                "POST", "/api/bench/enqueue", {"token": f"t{next(numbers)}"}
            )
            for i in range(n)
        ]

    server = harness.gunicorn(env, PORT, workers=args.workers, threads=4)
    worker = harness.Process(
        [
            sys.executable, "-m", "celery", "-A", "tradingsite", "worker", "--queues", "execution",
            "--prefetch-multiplier", "1", "-O", "fair", "--concurrency", str(args.concurrency),
            "--hostname", "bench-execution@%h", "--without-gossip", "--without-mingle",
            "--loglevel", "WARNING",
        ],
        env,
        harness.DATA_DIR / "celery-execution.log",
    )  # fmt: skip
    results: dict = {}
    interval = args.poll_ms / 1000
    try:
        print("waiting for the worker ...", flush=True)
        ready = Poller(TASKS_DONE, interval)
        ready.start()
        drive(tasks, ready, count=args.concurrency * 2, rate=50, senders=1)
        wait_all(ready, 60)
        ready.stopping.set()
        warm = Poller(ORDERS_DONE, interval)
        warm.start()
        drive(orders, warm, count=20, rate=args.rate, senders=4)
        wait_all(warm, 60)
        warm.stopping.set()
        for name, make, query in (
            ("no-op task (baseline)", tasks, TASKS_DONE),
            ("order fill", orders, ORDERS_DONE),
        ):
            print(f"{name}: {args.orders} at {args.rate}/s ...", flush=True)
            poller = Poller(query, interval)
            poller.start()
            cpu_before = harness.tree_cpu_seconds(worker.pid)
            drive(make, poller, count=args.orders, rate=args.rate, senders=4)
            wait_all(poller, 60)
            poller.stopping.set()
            worker.check()
            cpu = harness.tree_cpu_seconds(worker.pid) - cpu_before
            latencies = [seen - answered for answered, seen, _ in poller.seen.values()]
            row = {"name": name, **summary(latencies)}
            row["worker_cpu_ms_per_task"] = round(cpu * 1000 / args.orders, 2)
            if query is ORDERS_DONE:
                inside = [float(rest[0]) for _, _, rest in poller.seen.values()]
                row["server_accept_to_fill"] = summary(inside)
            results[name] = row
        check = harness.django_json(
            "import json; from django.db.models import Sum; "
            "from orders.models import Order, Position; "
            "print('BENCH_JSON ' + json.dumps({"
            "'not_complete': Order.objects.exclude(status='COMPLETE').count(), "
            "'orders': Order.objects.count(), "
            "'position_quantity': Position.objects.aggregate(q=Sum('quantity'))['q']}))",
            env,
        )
    finally:
        worker.stop()
        server.stop()
    if check["not_complete"] or check["position_quantity"] != check["orders"]:
        raise RuntimeError(f"orders and positions disagree: {check}")
    results["check"] = check
    results["config"] = {
        "orders": args.orders, "rate": args.rate, "accounts": args.accounts,
        "order_type": args.order_type, "poll_ms": args.poll_ms,
        "worker_concurrency": args.concurrency, "gunicorn_workers": args.workers,
    }  # fmt: skip
    rows = [results["no-op task (baseline)"], results["order fill"]]
    inside = results["order fill"]["server_accept_to_fill"]
    rows.append({"name": "order: created_at to COMPLETE (db clock)", **inside})
    print()
    print(harness.table(rows, [
        ("name", "201 to done", 42), ("count", "n", 6), ("p50_ms", "p50 ms", 9),
        ("p99_ms", "p99 ms", 9), ("max_ms", "max ms", 9),
        ("worker_cpu_ms_per_task", "worker cpu ms", 14),
    ]))  # fmt: skip
    print(f"\nall {check['orders']} orders COMPLETE, positions hold {check['position_quantity']}")
    harness.write_json(args.json, results)


if __name__ == "__main__":
    main()
