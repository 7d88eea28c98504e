"""P5: growth. Placement with 1 thousand and with 1 million orders stored, and audit_verify
on 1 million audit events.

    .venv/bin/python -m bench.growth [--quick] [--orders 1000000] [--events 1000000] [--json PATH]

On a scratch database (``ts_bench_p5``) with 17 funded accounts and API keys:

1. Order history is COPYed in up to 1,000 orders (``bench.seed.seed_orders``: finished,
   unfilled orders of past sessions, spread over every account), then wrk places signed
   orders (as in ``bench.placement``) over 8 accounts at 8 connections: the baseline.
2. History grows to ``--orders`` (1 million), tables are analysed, and the same placement
   runs again over 8 other accounts (so neither phase sees the other's working orders).
3. ``--events`` audit events with a valid hash chain are COPYed in
   (``bench.seed.seed_audit_events``) and ``manage.py audit_verify`` checks the whole
   chain; its own count and time give events per second. Beside it, the same columns are
   only streamed from PostgreSQL in seq order, the floor for any verifier.
"""

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

import psycopg2

from bench import harness

DATABASE = "ts_bench_p5"
PORT = 8803
GROUP = 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20k orders, 50k events, 3 s runs")
    parser.add_argument("--orders", type=int, default=1_000_000, help="history for phase 2")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.quick:
        args.orders, args.events, args.seconds = 20_000, 50_000, 3

    env = harness.fresh_database(DATABASE)
    print(f"seeding {1 + 2 * GROUP} accounts ...", flush=True)
    seeded = harness.django_json(
        "import json; from bench.seed import seed_base, seed_accounts; prices = seed_base(); "
        f"print('BENCH_JSON ' + json.dumps({{'prices': prices, "
        f"'accounts': seed_accounts({1 + 2 * GROUP})}}))",
        env,
    )
    accounts, price = seeded["accounts"], seeded["prices"]["INFY"]["bid"]
    codes = [a["account"] for a in accounts]
    signers = [harness.Signer(PORT, a["key_id"], a["secret"]) for a in accounts]
    numbers = iter(range(10**9))

    def order(a: int) -> harness.Req:
        payload = {
            "account": codes[a], "tradingsymbol": "INFY", "transaction_type": "BUY",
            "order_type": "LIMIT", "price": price, "product": "CNC", "quantity": 1,
            "client_order_id": f"g{next(numbers)}",
        }  # fmt: skip
        return signers[a].sign("POST", "/api/v1/orders", payload)

    def orders(group: list[int]):
        return lambda n: [order(group[i % len(group)]) for i in range(n)]

    def grow_to(total: int) -> float:
        started = time.monotonic()
        have = _count("SELECT count(*) FROM orders_order")
        harness.django_json(
            "from bench.seed import seed_orders, analyze; "
            f"seed_orders({max(total - have, 0)}, accounts={codes!r}, first={have}); "
            "analyze('orders_order'); print('BENCH_JSON 0')",
            env,
        )
        return time.monotonic() - started

    def place(label: str, group: list[int]) -> dict:
        server = harness.gunicorn(env, PORT, workers=args.workers, threads=args.threads)
        try:
            common = {"expect": 201, "server_pid": server.pid, "database": DATABASE}
            warm = harness.wrk_signed(
                orders([0]), "warm-up", PORT, rate_guess=300, seconds=2,
                connections=args.connections, **common,
            )  # fmt: skip
            counts = harness.counted(PORT, orders(group)(10), 201)
            load = harness.wrk_signed(
                orders(group), label, PORT, rate_guess=warm.throughput, seconds=args.seconds,
                connections=args.connections, **common,
            )  # fmt: skip
        finally:
            server.stop()
        row = load.row() | {"orders_stored": _count("SELECT count(*) FROM orders_order")}
        row |= {f"{k}_per_request": counts.get(k) for k in ("sql", "redis", "redis_commands")}
        row["counts"] = counts
        print(f"  {label}: {row['throughput']} req/s p50 {row['p50_ms']} ms "
              f"p99 {row['p99_ms']} ms", flush=True)  # fmt: skip
        return row

    results: dict = {}
    small = min(1000, args.orders)
    print(f"order history: {small:,} orders ...", flush=True)
    results["seed_small_seconds"] = round(grow_to(small), 1)
    first = list(range(1, 1 + GROUP))
    results["placement_small"] = place(f"orders, {small:,} stored", first)
    print(f"order history: {args.orders:,} orders (COPY) ...", flush=True)
    results["seed_large_seconds"] = round(grow_to(args.orders), 1)
    second = list(range(1 + GROUP, 1 + 2 * GROUP))
    results["placement_large"] = place(f"orders, {args.orders:,} stored", second)

    print(f"audit trail: {args.events:,} events (hash and COPY) ...", flush=True)
    started = time.monotonic()
    harness.django_json(
        "import json; from bench.seed import seed_audit_events, analyze; "
        f"done = seed_audit_events({args.events}); analyze('compliance_auditevent'); "
        "print('BENCH_JSON ' + json.dumps(done))",
        env,
    )
    results["seed_events_seconds"] = round(time.monotonic() - started, 1)
    results["audit_verify"] = _verify(env)
    results["read_only"] = _read_only()
    results["config"] = {
        "orders": args.orders, "events": args.events, "seconds": args.seconds,
        "connections": args.connections, "accounts_per_phase": GROUP,
        "workers": args.workers, "threads": args.threads,
    }  # fmt: skip

    rows = [results["placement_small"], results["placement_large"]]
    print()
    print(harness.table(rows, [
        ("name", "placement", 26), ("throughput", "req/s", 9), ("p50_ms", "p50 ms", 9),
        ("p99_ms", "p99 ms", 9), ("server_cpu_ms_per_request", "cpu ms", 8),
        ("pg_cpu_ms_per_request", "pg ms", 7), ("sql_per_request", "SQL", 6),
    ]))  # fmt: skip
    verify, floor = results["audit_verify"], results["read_only"]
    print(
        f"\naudit_verify: {verify['events']:,} events in {verify['seconds']} s "
        f"= {verify['events_per_second']:,} events/s "
        f"(command wall time {verify['wall_seconds']} s)\n"
        f"reading the same columns only: {floor['events']:,} in {floor['seconds']} s "
        f"= {floor['events_per_second']:,} events/s"
    )
    harness.write_json(args.json, results)


def _count(sql: str) -> int:
    conn = psycopg2.connect(f"{harness.PG}/{DATABASE}")
    with conn.cursor() as cursor:
        cursor.execute(sql)
        value = cursor.fetchone()[0]
    conn.close()
    return value


def _verify(env: dict) -> dict:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "manage.py", "audit_verify"],
        cwd=harness.ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.monotonic() - started
    found = re.search(r"intact: ([\d,]+) events checked.* in ([\d.]+) s", done.stdout)
    if done.returncode or not found:
        raise RuntimeError(f"audit_verify failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    events, seconds = int(found.group(1).replace(",", "")), float(found.group(2))
    return {
        "events": events,
        "seconds": seconds,
        "events_per_second": round(events / seconds),
        "wall_seconds": round(wall, 1),
        "output": done.stdout.strip(),
    }


def _read_only() -> dict:
    """Stream the hashed columns in chain and seq order (server-side cursor, 5,000 a batch)."""
    conn = psycopg2.connect(f"{harness.PG}/{DATABASE}")
    started = time.monotonic()
    events = 0
    with conn.cursor(name="bench_read") as cursor:
        cursor.itersize = 5000
        cursor.execute(
            "SELECT chain, seq, occurred_at, action, object_type, object_id, actor_id,"
            " actor_username, source_ip, request_id, before, after, prev_hash, hash"
            " FROM compliance_auditevent ORDER BY chain, seq"
        )
        for _ in cursor:
            events += 1
    seconds = time.monotonic() - started
    conn.close()
    return {
        "events": events,
        "seconds": round(seconds, 2),
        "events_per_second": round(events / seconds),
    }


if __name__ == "__main__":
    main()
