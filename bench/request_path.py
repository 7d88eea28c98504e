"""Throughput of the request path: a bare Django view, /health, and a signed GET /api/v1/me.

    .venv/bin/python bench/request_path.py [--seconds 10] [--connections 8] [--json out.json]

It creates a scratch database (``ts_reqpath_bench``), migrates it and seeds a user in the
Algo Client role with a read key bound to 127.0.0.1, then starts gunicorn on the production
profile (PostgreSQL, Redis) twice, one after the other, with the same worker count:

- with ``bench.reqpath_bare`` (no middleware, one plain view): ``GET /bare``;
- with the project's own settings: ``GET /health`` and a signed ``GET /api/v1/me``.

Load comes from ``wrk`` (``--connections`` keep-alive connections, 2 threads). A signature
carries a nonce that works once, so the signed requests are signed beforehand by the shipped
client's library (one nonce each) and replayed from a file by ``wrk``'s Lua hook, each once;
a run that answers anything but 200 is reported as failed. Each endpoint gets a warm-up run
first. The API rate limits are raised out of the way: the throttle still spends its tokens.
"""

import argparse
import http.client
import json
import os
import re
import shutil
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

    def __init__(self, settings: str, env: dict, workers: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "tradingsite.wsgi", "--bind", f"127.0.0.1:{PORT}",
             "--workers", str(workers), "--log-level", "warning"],
            cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE": settings},
        )  # fmt: skip
        for _ in range(200):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=1)
                conn.request("GET", "/health")
                conn.getresponse().read()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def wrk(path: str, *, seconds: int, connections: int, script: Path | None = None, args=()) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        command += ["-s", str(script)]
    command += [f"http://127.0.0.1:{PORT}{path}"]
    if args:
        command += ["--", *args]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    latency = dict(re.findall(r"\s+(50|99)%\s+([\d.]+\w+)", out))
    return {
        "req_per_s": rate,
        "requests": total,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "p50": latency.get("50"),
        "p99": latency.get("99"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--signed", type=int, default=60000, help="requests to pre-sign")
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
    results: dict = {}

    server = Server("bench.reqpath_bare", env, args.workers)
    try:
        wrk("/bare", **warm)
        results["bare_django_view"] = wrk("/bare", **load)
    finally:
        server.stop()

    with tempfile.TemporaryDirectory() as scratch:
        script, warm_file, run_file = (Path(scratch) / n for n in ("me.lua", "warm", "run"))
        script.write_text(WRK_SCRIPT)
        sign(key, args.signed // 6, warm_file)
        sign(key, args.signed, run_file)
        server = Server("tradingsite.settings", env, args.workers)
        try:
            wrk("/health", **warm)
            results["health"] = wrk("/health", **load)
            wrk("/api/v1/me", **warm, script=script, args=(str(warm_file), "2"))
            results["signed_me"] = wrk(
                "/api/v1/me", **load, script=script, args=(str(run_file), "2")
            )
        finally:
            server.stop()
    if results["signed_me"]["requests"] > args.signed:
        print(f"warning: more requests than pre-signed ones ({args.signed}): raise --signed")
    results["ratios"] = {
        "health_over_bare": round(
            results["health"]["req_per_s"] / results["bare_django_view"]["req_per_s"], 3
        ),
        "signed_me_over_health": round(
            results["signed_me"]["req_per_s"] / results["health"]["req_per_s"], 3
        ),
    }
    results["config"] = {**load, "workers": args.workers, "threads": 2, "cpus": os.cpu_count()}
    print(f"\n{'endpoint':<18}{'req/s':>10}{'p50':>10}{'p99':>10}{'non-2xx':>9}")
    for name in ("bare_django_view", "health", "signed_me"):
        r = results[name]
        print(f"{name:<18}{r['req_per_s']:>10.1f}{r['p50']:>10}{r['p99']:>10}{r['non_2xx']:>9}")
    print(f"\n{json.dumps(results['ratios'])}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if any(results[name]["non_2xx"] for name in ("bare_django_view", "health", "signed_me")):
        sys.exit("some requests were not answered 200: see non-2xx above")


if __name__ == "__main__":
    main()
