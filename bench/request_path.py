"""Throughput of the request path: a bare Django view, /health, and a signed GET /api/v1/me.

    .venv/bin/python bench/request_path.py [--seconds 10] [--connections 8] [--json out.json]

It creates a scratch database (``ts_reqpath_bench``), migrates it and seeds a user in the
Algo Client role with a read key bound to 127.0.0.1, then starts two gunicorns on the
production profile (PostgreSQL, Redis), side by side with the same worker count:

- with ``bench.reqpath_bare`` (no middleware, one plain view): ``GET /bare``;
- with the project's own settings: ``GET /health`` and a signed ``GET /api/v1/me``.

The three endpoints are loaded in turn, ``--rounds`` times, so that a change in the load of
a shared machine falls on all of them; each figure is the median of its rounds, and the
ratios are taken within each round, then their median.

Load comes from ``wrk`` (``--connections`` keep-alive connections, 2 threads). A signature
carries a nonce that works once, so the signed requests are signed beforehand by the shipped
client's library (one nonce each) and replayed from a file by ``wrk``'s Lua hook, each once;
a run that answers anything but 200 is reported as failed. Besides req/s it reports the CPU
time the gunicorn workers spent per request (from /proc), which a busy shared machine
disturbs far less than throughput. Each endpoint gets a warm-up run
first. The API rate limits are raised out of the way: the throttle still spends its tokens.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/3")
DATABASE = "ts_reqpath_bench"
PORT = 8793
DATA_DIR = Path("/tmp/ts-reqpath-bench")
KEYRING = DATA_DIR / "field_keys"

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
print(json.dumps({"key_id": key.key_id, "secret": secret}))
"""

# Each wrk thread replays its share of the pre-signed requests (line n goes to thread n % 2).
WRK_SCRIPT = """
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  signed, n = {}, 0
  local i = 0
  for line in io.lines(args[1]) do
    if i % tonumber(args[2]) == id then
      local headers = {}
      for name, value in line:gmatch("([^\\t:]+): ([^\\t]+)") do headers[name] = value end
      signed[#signed + 1] = headers
    end
    i = i + 1
  end
end
function request()
  n = n + 1
  return wrk.format("GET", "/api/v1/me", signed[((n - 1) % #signed) + 1])
end
"""


def manage(*args: str, env: dict, capture: bool = False) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
        text=True,
    )
    return done.stdout or ""


def recreate_database() -> None:
    import psycopg2

    conn = psycopg2.connect(f"{PG}/postgres")
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        cursor.execute(f"CREATE DATABASE {DATABASE}")
    conn.close()


def make_keyring() -> None:
    if KEYRING.exists():
        return
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    code = "from ops.crypto import Keyring; print(Keyring.fresh().dumps(), end='')"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    KEYRING.write_text(done.stdout)
    KEYRING.chmod(0o600)


def sign(key: dict, count: int, path: Path) -> None:
    """Write ``count`` signed GET /api/v1/me requests: the headers the signer set, one request
    a line, as 'Name: value' fields separated by tabs."""
    import requests
    from requests_http_signature import HTTPSignatureAuth, algorithms

    sys.path.insert(0, str(ROOT))
    from tradingsite_client import COVERED

    auth = HTTPSignatureAuth(
        signature_algorithm=algorithms.HMAC_SHA256, key=key["secret"].encode(),
        key_id=key["key_id"], covered_component_ids=COVERED, use_nonce=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{PORT}/api/v1/me"
    with path.open("w") as out:
        for _ in range(count):
            prepared = auth(requests.Request("GET", url).prepare())
            out.write("\t".join(f"{k}: {v}" for k, v in prepared.headers.items()) + "\n")


class Server:
    """gunicorn on the production profile with the given settings module."""

    def __init__(self, settings: str, env: dict, workers: int, port: int, probe: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "tradingsite.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", str(workers), "--log-level", "warning"],
            cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE": settings},
        )  # fmt: skip
        for _ in range(300):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                conn.request("GET", probe)
                conn.getresponse().read()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start")

    def cpu_seconds(self) -> float:
        """User and system CPU time used so far by the gunicorn workers (not the master)."""
        master = self.process.pid
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        ticks = 0
        for pid in children:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def wrk(
    path: str, *, seconds: int, connections: int, server: Server, port=PORT, script=None, args=()
) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        command += ["-s", str(script)]
    command += [f"http://127.0.0.1:{port}{path}"]
    if args:
        command += ["--", *args]
    cpu = server.cpu_seconds()
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    cpu = server.cpu_seconds() - cpu
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    latency = dict(re.findall(r"\s+(50|99)%\s+([\d.]+\w+)", out))
    return {
        "req_per_s": rate,
        "requests": total,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "worker_cpu_ms_per_request": round(cpu * 1000 / total, 3),
        "p50": latency.get("50"),
        "p99": latency.get("99"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--signed", type=int, default=30000, help="requests to pre-sign a round")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench/request_path.py needs wrk (apt-get install wrk)")

    env = {
        **os.environ,
        "TRADINGSITE_ENV": "production",
        "SECRET_KEY": "bench-" + "x" * 60,
        "DATABASE_URL": f"{PG}/{DATABASE}",
        "REDIS_URL": REDIS,
        "CELERY_BROKER_URL": REDIS,
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        "TRADINGSITE_DATA_DIR": str(DATA_DIR),
        "FIELD_ENCRYPTION_KEYRING": str(KEYRING),
        "API_RATE_PER_KEY": "1000000",
        "API_RATE_PER_ACCOUNT": "1000000",
    }
    recreate_database()
    make_keyring()
    print("migrating and seeding the scratch database ...", flush=True)
    manage("migrate", "-v0", env=env)
    manage("collectstatic", "--noinput", "-v0", env=env)
    key = json.loads(manage("shell", "-c", SEED, env=env, capture=True).strip().splitlines()[-1])
    load = {"seconds": args.seconds, "connections": args.connections}
    warm = {"seconds": 2, "connections": args.connections}

    names = ("bare_django_view", "health", "signed_me")
    rounds: list[dict] = []
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "me.lua"
        script.write_text(WRK_SCRIPT)
        signed = [Path(scratch) / f"signed-{n}" for n in range(args.rounds + 1)]
        for path in signed:
            sign(key, args.signed, path)
        bare = Server("bench.reqpath_bare", env, args.workers, PORT + 1, "/bare")
        site = Server("tradingsite.settings", env, args.workers, PORT, "/health")
        try:
            me = {"script": script, "server": site}
            wrk("/bare", **warm, port=PORT + 1, server=bare)
            wrk("/health", **warm, server=site)
            wrk("/api/v1/me", **warm, **me, args=(str(signed[-1]), "2"))
            for n in range(args.rounds):
                rounds.append(
                    {
                        "bare_django_view": wrk("/bare", **load, port=PORT + 1, server=bare),
                        "health": wrk("/health", **load, server=site),
                        "signed_me": wrk("/api/v1/me", **load, **me, args=(str(signed[n]), "2")),
                    }
                )
        finally:
            bare.stop()
            site.stop()
    if max(r["signed_me"]["requests"] for r in rounds) > args.signed:
        print(f"warning: more requests than pre-signed ones ({args.signed}): raise --signed")

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
        **load, "rounds": args.rounds, "workers": args.workers, "threads": 2,
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
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if any(r[name]["non_2xx"] for r in rounds for name in names):
        sys.exit("some requests were not answered 200: see non-2xx above")


if __name__ == "__main__":
    main()
