"""Throughput of the request path: a bare Django view, /health, and a signed GET /api/v1/me.

    .venv/bin/python -m bench.request_path [--quick] [--seconds 10] [--connections 8]
        [--rounds 3] [--json out.json]

It makes a scratch database (``ts_bench_reqpath``, from the harness's migrated template)
and seeds a user in the Algo Client role with a read key bound to 127.0.0.1, then starts
two gunicorns on the production profile (PostgreSQL, Redis), side by side with the same
worker count (sync workers, one thread each):

- with ``bench.bare_settings`` (no middleware, one plain view): ``GET /bare``;
- with the project's own settings: ``GET /health`` and a signed ``GET /api/v1/me``.

The three endpoints are loaded in turn, ``--rounds`` times, so that a change in the load of
a shared machine falls on all of them; each figure is the median of its rounds, and the
ratios are taken within each round, then their median.

Load comes from ``wrk`` through ``bench.harness`` (``--connections`` keep-alive connections,
2 threads, ``replay.lua``). A signature carries a nonce that works once, so the signed
requests are signed just before each run by the shipped client's library (one nonce each)
and replayed each once; any answer but 200, or a socket error, fails the run. Besides req/s
it reports the CPU time gunicorn spent per request (master and workers, from /proc), which a
busy shared machine disturbs far less than throughput. Each endpoint gets a warm-up run
first. The API rate limits are raised out of the way: the throttle still spends its tokens.
"""

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # also runs as bench/request_path.py
    sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402

DATABASE = "ts_bench_reqpath"
PORT, BARE_PORT = 8804, 8805

SEED = """
import json
from django.contrib.auth.models import Group, User
from compliance.models import Client
from ops.apikeys import api_key_create
from orders.models import TradingAccount
account = TradingAccount.objects.create(code="BENCH1", client=Client.objects.create(
    name="Bench", pan="ABCPB1234C", kyc_status="verified"))
user = User.objects.create_user("bench-algo")
user.groups.add(Group.objects.get(name="Algo Client"))
account.users.add(user)
key, secret = api_key_create(actor=None, user=user, account=account, label="bench",
    primary_ip="127.0.0.1")
print("BENCH_JSON " + json.dumps({"key_id": key.key_id, "secret": secret}))
"""


def wrk_time(ms: float) -> str:
    """A latency as wrk prints it: 850.00us, 2.00ms, 1.02s."""
    if ms < 1:
        return f"{ms * 1000:.2f}us"
    return f"{ms:.2f}ms" if ms < 1000 else f"{ms / 1000:.2f}s"


def as_round(load: harness.Load) -> dict:
    """One endpoint's figures in a round."""
    return {
        "req_per_s": load.throughput,
        "requests": load.requests,
        "non_2xx": sum(n for status, n in load.statuses.items() if not status.startswith("2")),
        "worker_cpu_ms_per_request": load.cpu_ms,
        "p50": wrk_time(load.p50_ms),
        "p99": wrk_time(load.p99_ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round of 3 s runs")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds = 3, 1

    env = harness.fresh_database(DATABASE)
    print("seeding the scratch database ...", flush=True)
    key = harness.django_json(SEED, env)
    signer = harness.Signer(PORT, key["key_id"], key["secret"])

    def signed_me(n: int) -> list[harness.Req]:
        return [signer.sign("GET", "/api/v1/me") for _ in range(n)]

    names = ("bare_django_view", "health", "signed_me")
    rounds: list[dict] = []
    servers: list[harness.Process] = []
    try:
        bare_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.bare_settings"}
        site_env = {**env, "DJANGO_SETTINGS_MODULE": "tradingsite.settings"}
        bare = harness.gunicorn(bare_env, BARE_PORT, workers=args.workers, threads=1, probe="/bare")
        servers.append(bare)
        site = harness.gunicorn(site_env, PORT, workers=args.workers, threads=1)
        servers.append(site)
        fixed = {
            "bare_django_view": (BARE_PORT, bare, harness.plain(BARE_PORT, "GET", "/bare")),
            "health": (PORT, site, harness.plain(PORT, "GET", "/health")),
        }
        signed_rate = 300.0  # a guess until the warm-up measures it

        def run(name: str, seconds: int) -> harness.Load:
            nonlocal signed_rate
            if name in fixed:
                port, server, req = fixed[name]
                return harness.wrk(
                    name, port, [req], connections=args.connections, seconds=seconds,
                    expect=200, cycle=True, server_pid=server.pid,
                )  # fmt: skip
            load = harness.wrk_signed(
                signed_me, name, PORT, rate_guess=signed_rate, seconds=seconds,
                connections=args.connections, expect=200, server_pid=site.pid,
            )  # fmt: skip
            signed_rate = max(signed_rate, load.throughput)
            return load

        for name in names:
            run(name, 2)  # warm-up
        for _ in range(args.rounds):
            rounds.append({name: as_round(run(name, args.seconds)) for name in names})
    finally:
        for server in servers:
            server.stop()

    def median(values) -> float:
        return round(statistics.median(values), 3)

    results: dict = {
        name: {
            "req_per_s": median(r[name]["req_per_s"] for r in rounds),
            "worker_cpu_ms_per_request": median(
                r[name]["worker_cpu_ms_per_request"] for r in rounds
            ),
        }
        for name in names
    }
    results["ratios"] = {
        "health_over_bare": median(
            r["health"]["req_per_s"] / r["bare_django_view"]["req_per_s"] for r in rounds
        ),
        "signed_me_over_health": median(
            r["signed_me"]["req_per_s"] / r["health"]["req_per_s"] for r in rounds
        ),
    }
    cpu = {name: results[name]["worker_cpu_ms_per_request"] for name in names}
    # What the throughput ratios would be if the workers' CPU were all that limited them.
    results["ratios_by_cpu"] = {
        "health_over_bare": round(cpu["bare_django_view"] / cpu["health"], 3),
        "signed_me_over_health": round(cpu["health"] / cpu["signed_me"], 3),
    }
    results["rounds"] = rounds
    results["config"] = {
        "seconds": args.seconds, "connections": args.connections, "rounds": args.rounds,
        "workers": args.workers, "threads": 2,
        "cpus": os.cpu_count(), "load_average": os.getloadavg(),
    }  # fmt: skip
    print(f"\n{'endpoint':<18}{'req/s':>8}{'cpu ms':>8}  rounds (req/s, p50, p99)")
    for name in names:
        each = "  ".join(
            f"{r[name]['req_per_s']:.0f} {r[name]['p50']} {r[name]['p99']}" for r in rounds
        )
        cpu = results[name]["worker_cpu_ms_per_request"]
        print(f"{name:<18}{results[name]['req_per_s']:>8.0f}{cpu:>8.3f}  {each}")
    print(f"\nratios {json.dumps(results['ratios'])}")
    print(f"ratios by worker CPU {json.dumps(results['ratios_by_cpu'])}")
    harness.write_json(args.json, results)


if __name__ == "__main__":
    main()
