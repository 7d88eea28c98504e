"""P1: order placement with signed API keys under wrk, layer by layer, against baselines.

    .venv/bin/python -m bench.placement [--quick] [--seconds 10] [--json PATH]

It makes a scratch database (``ts_bench_p1``) with funded, KYC-verified accounts, each with
its own trade API key bound to 127.0.0.1 (and its own registered algo ID), starts gunicorn
as the production Procfile does (PostgreSQL, Redis cache, nonces, rate limits and broker;
no Celery worker, so accepted orders stay ACCEPTED), and drives it with wrk replaying
requests that Python signed just before each run, the way the project's client signs them
(RFC 9421: own ``created``, nonce and client_order_id each). Every answer must be the
expected status (201 or 200); one other answer or socket error fails the run. Rows, each
at 8 and 32 connections:

- ``bare view``: a Django view with no middleware at all (a second gunicorn, same workers);
- ``GET /health``: the whole middleware stack, no I/O in the view;
- ``bare DRF 2 rows``: middleware + DRF, no authentication or rate limit, two rows written
  in one transaction;
- ``signed GET /me``: signed-request authentication (key lookup, nonce in Redis, static
  IP), rate-limit buckets, and the caller's roles and permissions;
- ``signed 2 rows``: the same stack as placement, writing two rows in one transaction;
- ``orders, N accounts``: ``POST /api/v1/orders`` (a 1-share LIMIT buy at the bid), over
  1, 8 and 64 accounts, each phase with accounts of its own.

Each row gives throughput, p50 and p99 (wrk), the server's CPU per request (gunicorn master
and workers, and the PostgreSQL backends of the database, from /proc), and SQL statements
and Redis round trips per request, counted by ``bench.counting`` in a separate pass of
single requests. Rate limits are raised out of the way but their buckets are still spent.
"""

import argparse
import itertools
import time
from pathlib import Path

from bench import harness

DATABASE = "ts_bench_p1"
PORT, BARE_PORT = 8800, 8801
FULL = {"seconds": 10.0, "connections": [8, 32], "accounts": [1, 8, 64], "count": 20}
QUICK = {"seconds": 2.0, "connections": [8], "accounts": [1, 8], "count": 5}


def _seed(env: dict, accounts: int) -> dict:
    code = (
        "import json; from bench.seed import seed_base, seed_accounts; "
        f"prices = seed_base(); made = seed_accounts({accounts}); "
        "print('BENCH_JSON ' + json.dumps({'prices': prices, 'accounts': made}))"
    )
    return harness.django_json(code, env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="2 s phases, 8 connections, 1 and 8 accounts, 5 counted requests, "
        "unless given by the options below",
    )
    parser.add_argument("--seconds", type=float, help="per phase (default 10)")
    parser.add_argument("--connections", type=int, nargs="+", help="default 8 32")
    parser.add_argument("--accounts", type=int, nargs="+", help="default 1 8 64")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (Procfile: 4)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (Procfile: 4)")
    parser.add_argument("--count", type=int, help="requests per counting pass (default 20)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    defaults = QUICK if args.quick else FULL
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)

    started = time.monotonic()
    env = harness.fresh_database(DATABASE)
    needed = 1 + sum(args.accounts) * len(args.connections)  # the first warms up
    print(f"seeding {needed} accounts with API keys ...", flush=True)
    seeded = _seed(env, needed)
    accounts, price = seeded["accounts"], seeded["prices"]["INFY"]["bid"]
    signers = [harness.Signer(PORT, a["key_id"], a["secret"]) for a in accounts]
    order_ids = itertools.count()

    def orders(group: list[int]):
        def make(n: int) -> list[harness.Req]:
            reqs = []
            for i in range(n):
                a = group[i % len(group)]
                reqs.append(signers[a].sign("POST", "/api/v1/orders", {
                    "account": accounts[a]["account"], "tradingsymbol": "INFY",
                    "transaction_type": "BUY", "order_type": "LIMIT", "price": price,
                    "product": "CNC", "quantity": 1, "client_order_id": f"b{next(order_ids)}",
                }))  # fmt: skip
            return reqs

        return make

    pool = list(range(1, min(len(signers), 65)))  # keys for the signed baselines

    def signed(method: str, path: str, body: bool):
        def make(n: int) -> list[harness.Req]:
            return [
                signers[pool[i % len(pool)]].sign(method, path, {"key": str(i)} if body else None)
                for i in range(n)
            ]

        return make

    endpoints = [
        # name, port, expected status, maker (signed) or fixed request
        ("bare view", BARE_PORT, 200, harness.plain(BARE_PORT, "GET", "/bare")),
        ("GET /health", PORT, 200, harness.plain(PORT, "GET", "/health")),
        ("bare DRF 2 rows", PORT, 201,
         harness.plain(PORT, "POST", "/api/bench/baseline", {"key": "k"})),
        ("signed GET /me", PORT, 200, signed("GET", "/api/v1/me", False)),
        ("signed 2 rows", PORT, 201, signed("POST", "/api/bench/signed-baseline", True)),
    ]  # fmt: skip
    groups, next_account = [], 1
    for n_accounts in args.accounts:
        for connections in args.connections:
            groups.append(
                (n_accounts, connections, list(range(next_account, next_account + n_accounts)))
            )
            next_account += n_accounts

    results: dict = {"phases": [], "counts": {}}
    server = harness.gunicorn(env, PORT, workers=args.workers, threads=args.threads)
    try:
        bare_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.bare_settings"}
        rates: dict[str, float] = {}

        def phase(
            name, port, expect, made, connections, server_pid, accounts_used=None, warm=False
        ):
            common = {"connections": connections, "expect": expect, "server_pid": server_pid,
                      "database": DATABASE if port == PORT else None}  # fmt: skip
            seconds = min(2.0, args.seconds) if warm else args.seconds
            if isinstance(made, harness.Req):
                load = harness.wrk(name, port, [made], seconds=seconds, cycle=True, **common)
            else:
                load = harness.wrk_signed(made, name, port, rate_guess=rates.get(name, 300),
                                          seconds=seconds, **common)  # fmt: skip
            rates[name] = max(rates.get(name, 0), load.throughput)
            if warm:
                return
            load.extra = {"accounts": accounts_used}
            results["phases"].append(load.row())
            print(f"  {name:<22} {connections:>3} conns {load.throughput:>8} req/s "
                  f"p50 {load.p50_ms} ms p99 {load.p99_ms} ms", flush=True)  # fmt: skip

        def count(name, port, expect, made):
            reqs = [made] * args.count if isinstance(made, harness.Req) else made(args.count)

            results["counts"][name] = harness.counted(port, reqs, expect)

        bare_server = harness.gunicorn(bare_env, BARE_PORT, workers=args.workers,
                                       threads=args.threads, probe="/bare")  # fmt: skip
        try:
            name, port, expect, made = endpoints[0]
            print("bare view ...", flush=True)
            phase(name, port, expect, made, 8, bare_server.pid, warm=True)
            for connections in args.connections:
                phase(name, port, expect, made, connections, bare_server.pid)
            count(name, port, expect, made)
        finally:
            bare_server.stop()
        for name, port, expect, made in endpoints[1:]:
            print(f"{name} ...", flush=True)
            phase(name, port, expect, made, 8, server.pid, warm=True)
            for connections in args.connections:
                phase(name, port, expect, made, connections, server.pid)
            count(name, port, expect, made)
        print("orders ...", flush=True)
        phase("orders", PORT, 201, orders([0]), 8, server.pid, warm=True)
        rates = {**rates, **{f"orders, {n} accounts": rates["orders"] for n in args.accounts}}
        count("orders", PORT, 201, orders([0]))
        for n_accounts, connections, group in groups:
            phase(f"orders, {n_accounts} accounts", PORT, 201, orders(group), connections,
                  server.pid, accounts_used=n_accounts)  # fmt: skip
    finally:
        server.stop()

    for row in results["phases"]:
        counts = results["counts"].get(row["name"].split(",")[0], {})
        row.update({f"{k}_per_request": counts.get(k) for k in ("sql", "redis", "redis_commands")})
    results["config"] = {
        "seconds": args.seconds, "connections": args.connections, "accounts": args.accounts,
        "workers": args.workers, "threads": args.threads, "wrk_threads": 2,
        "count_requests": args.count, "wall_seconds": round(time.monotonic() - started),
    }  # fmt: skip
    print()
    print(harness.table(results["phases"], [
        ("name", "endpoint", 22), ("connections", "conns", 6), ("throughput", "req/s", 9),
        ("p50_ms", "p50 ms", 9), ("p99_ms", "p99 ms", 9),
        ("server_cpu_ms_per_request", "cpu ms", 8), ("pg_cpu_ms_per_request", "pg ms", 7),
        ("sql_per_request", "SQL", 6), ("redis_per_request", "Redis", 6),
    ]))  # fmt: skip
    print(
        "\ncpu ms: gunicorn master + workers per request; pg ms: PostgreSQL backends; "
        "SQL: statements per request; Redis: round trips per request (single requests)"
    )
    harness.write_json(args.json, results)


if __name__ == "__main__":
    main()
