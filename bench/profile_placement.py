"""Where a placement's server CPU goes: signed placements through the whole stack, profiled.

    .venv/bin/python -m bench.profile_placement [--orders 400] [--accounts 8] [--top 25]

It seeds a scratch database (``ts_bench_prof``) as P1 does, then, in this process, sends
pre-signed ``POST /api/v1/orders`` requests (RFC 9421, signed by the project's client)
through Django's WSGI handler with the production profile's middleware, PostgreSQL and
Redis, exactly as gunicorn would hand them over, and profiles them with cProfile on the
process's CPU clock (time spent waiting for PostgreSQL or Redis is not counted; their own
CPU is another process's). It prints the CPU per placement, the share of the stages a
placement goes through (inclusive, so they overlap where one calls another), and the top
functions by their own time. The same requests are first run unprofiled for the CPU per
placement without the profiler's overhead.
"""

import argparse
import cProfile
import io
import itertools
import os
import pstats
import sys
import time
from pathlib import Path

from bench import harness

DATABASE = "ts_bench_prof"
PORT = 8800  # only the Host the requests are signed for; nothing listens

#: Stages of a placement, inclusive (they overlap where one calls another): a label, the
#: file (its path's end) and the function.
STAGES = [
    ("signed-key authentication", "ops/signing.py", "authenticate"),
    ("the order view", "orders/api.py", "post"),
    ("  its account and link lookup", "orders/api.py", "_account_for"),
    ("  input validation (DRF)", "rest_framework/serializers.py", "is_valid"),
    ("  output serialization (DRF)", "rest_framework/serializers.py", "data"),
    ("  order_place (the service)", "orders/services.py", "order_place"),
    ("    quotes before the lock", "orders/services.py", "_prices_before_lock"),
    ("    under the account lock", "orders/services.py", "_place_locked"),
    ("    pre-trade risk checks", "orders/services.py", "_pre_trade_checks"),
    ("    the audit append", "compliance/services.py", "_append"),
    ("    commit and its on_commit (Celery)", "django/db/backends/base/base.py", "set_autocommit"),
]


def _package(filename: str) -> str:
    """Who owns a function's own time: a site package, the ORM, a project app, or Python."""
    if "site-packages/" in filename:
        parts = filename.split("site-packages/")[1].split("/")
        if parts[0] == "django":
            return "django ORM" if parts[1] == "db" else f"django ({parts[1]})"
        return parts[0]
    if filename.startswith(str(harness.ROOT)):
        return "project: " + filename[len(str(harness.ROOT)) + 1 :].split("/")[0]
    return "C builtins" if filename == "~" else "Python stdlib"


def _inclusive(stats: pstats.Stats, suffix: str, function: str) -> float:
    """The inclusive CPU of the function; of several of that name in the file (a property
    and the one it calls), the outermost's."""
    return max(
        (
            row[3]
            for (filename, _line, name), row in stats.stats.items()
            if name == function and filename.endswith(suffix)
        ),
        default=0.0,
    )


def _seed(env: dict, accounts: int) -> dict:
    code = (
        "import json; from bench.seed import seed_base, seed_accounts; "
        f"prices = seed_base(); made = seed_accounts({accounts}); "
        "print('BENCH_JSON ' + json.dumps({'prices': prices, 'accounts': made}))"
    )
    return harness.django_json(code, env)


def _environ(req: harness.Req) -> dict:
    environ = {
        "REQUEST_METHOD": req.method,
        "PATH_INFO": req.path.split("?")[0],
        "QUERY_STRING": req.path.partition("?")[2],
        "REMOTE_ADDR": harness.HOST,
        "SERVER_NAME": harness.HOST,
        "SERVER_PORT": str(PORT),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(req.body),
        "wsgi.errors": sys.stderr,
    }
    for name, value in req.headers.items():
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
        else:
            environ[f"HTTP_{key}"] = value
    return environ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=400, help="profiled placements")
    parser.add_argument("--accounts", type=int, default=8)
    parser.add_argument("--top", type=int, default=25, help="functions by own time")
    parser.add_argument("--dump", type=Path, help="also write the profile here (pstats)")
    args = parser.parse_args()

    env = harness.fresh_database(DATABASE)
    seeded = _seed(env, args.accounts)
    os.environ.update(env)
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler

    accounts, price = seeded["accounts"], seeded["prices"]["INFY"]["bid"]
    signers = [harness.Signer(PORT, a["key_id"], a["secret"]) for a in accounts]
    ids = itertools.count()

    def batch(n: int) -> list[dict]:
        out = []
        for i in range(n):
            a = i % len(accounts)
            out.append(_environ(signers[a].sign("POST", "/api/v1/orders", {
                "account": accounts[a]["account"], "tradingsymbol": "INFY",
                "transaction_type": "BUY", "order_type": "LIMIT", "price": price,
                "product": "CNC", "quantity": 1, "client_order_id": f"p{next(ids)}",
            })))  # fmt: skip
        return out

    handler = WSGIHandler()
    statuses: list[str] = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    def run(environs: list[dict]) -> float:
        began = time.process_time()
        for environ in environs:
            b"".join(handler(environ, start_response))
        return time.process_time() - began

    run(batch(50))  # warm: connections, caches, first-use imports
    plain_cpu = run(batch(args.orders)) / args.orders
    profiler = cProfile.Profile(time.process_time)
    requests = batch(args.orders)
    profiler.enable()
    run(requests)
    profiler.disable()
    refused = [s for s in statuses if not s.startswith("201")]
    if refused:
        raise SystemExit(f"{len(refused)} placements not answered 201, e.g. {refused[0]}")

    stats = pstats.Stats(profiler)
    if args.dump:
        stats.dump_stats(args.dump)
    own: dict[str, float] = {}
    for (filename, _line, _name), row in stats.stats.items():
        own[_package(filename)] = own.get(_package(filename), 0.0) + row[2]
    whole = sum(own.values())
    print(f"\nCPU per placement (this process): {plain_cpu * 1000:.2f} ms unprofiled, "
          f"{whole / args.orders * 1000:.2f} ms under the profiler, over {args.orders} orders "
          f"on {args.accounts} accounts\n")  # fmt: skip
    print(f"{'own CPU by package (what runs)':<42} {'share':>6}")
    for package, seconds in sorted(own.items(), key=lambda item: -item[1])[:14]:
        print(f"{package:<42} {seconds / whole:>6.0%}")
    print(f"\n{'stage (inclusive)':<42} {'share':>6}")
    for label, suffix, function in STAGES:
        print(f"{label:<42} {_inclusive(stats, suffix, function) / whole:>6.0%}")
    print(f"\nTop {args.top} functions by own CPU:")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.top)
    print("\n".join(out.getvalue().splitlines()[6:]))


if __name__ == "__main__":
    main()
