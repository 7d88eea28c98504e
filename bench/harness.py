"""What the benchmarks share: scratch databases, the server processes, pre-signed requests,
wrk runs, CPU accounting and the result table.

The harness process never imports Django: everything that needs the project runs in a
``manage.py`` subprocess with the bench environment (``bench_env``), so the load generator
stays small. Scratch databases are named ``ts_bench_*``; the cache, nonces and rate limits
use Redis DB 4 and the Celery broker DB 5, both flushed at the start of a run; ports are
8800-8819. Run one benchmark at a time.
"""

import hashlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import requests

ROOT = Path(__file__).resolve().parents[1]
PG = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379")
CACHE_DB, BROKER_DB = 4, 5
HOST = "127.0.0.1"
DATA_DIR = Path(tempfile.gettempdir()) / "ts-bench"
KEYRING = DATA_DIR / "field_keys"
LUA = Path(__file__).with_name("replay.lua")
TICK = os.sysconf("SC_CLK_TCK")


def bench_env(database: str, **extra: str) -> dict[str, str]:
    """The production profile on the scratch database, with the rate limits out of the way
    (the buckets are still spent on every request: the bench measures them, not refusals)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "TRADINGSITE_ENV": "production",
        "SECRET_KEY": "bench-" + "x" * 60,
        "DATABASE_URL": f"{PG}/{database}",
        "DATABASE_CONN_MAX_AGE": "600",  # one backend per worker for the whole run
        "REDIS_URL": f"{REDIS}/{CACHE_DB}",
        "CELERY_BROKER_URL": f"{REDIS}/{BROKER_DB}",
        "SECURE_SSL_REDIRECT": "false",
        "MARKETDATA_ALWAYS_OPEN": "true",
        "MARKETDATA_ACCESS_SAMPLE_RATE": "0",
        "MARKETDATA_QUOTE_TTL": "86400",  # quotes warmed once stay in the price cache
        "LOG_LEVEL": "WARNING",
        "TRADINGSITE_DATA_DIR": str(DATA_DIR),
        "FIELD_ENCRYPTION_KEYRING": str(KEYRING),
        "API_RATE_PER_KEY": "1000000",
        "API_RATE_PER_ACCOUNT": "1000000",
        "API_RATE_PER_USER": "1000000",
        "API_ORDER_RATE": "1000000",
        "API_ORDER_RATE_REGISTERED": "1000000",
    }
    env.update(extra)
    return env


# --- Database and Redis ------------------------------------------------------------------


def _admin_connection():
    conn = psycopg2.connect(f"{PG}/postgres")
    conn.autocommit = True
    return conn


def _migrations_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(ROOT.glob("*/migrations/*.py")):
        digest.update(str(path.relative_to(ROOT)).encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def manage(*args: str, env: dict, capture: bool = False) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=False,
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)[:80]} failed:\n{done.stderr[-3000:]}")
    return done.stdout or ""


def django_json(code: str, env: dict) -> object:
    """Run ``code`` in ``manage.py shell``; it prints one ``BENCH_JSON <json>`` line."""
    out = manage("shell", "-c", code, env=env, capture=True)
    for line in reversed(out.splitlines()):
        if line.startswith("BENCH_JSON "):
            return json.loads(line[len("BENCH_JSON ") :])
    raise RuntimeError(f"no BENCH_JSON line in the output:\n{out[-2000:]}")


def fresh_database(name: str) -> dict:
    """Drop and re-create ``name`` from a migrated template (re-made when migrations change),
    flush Redis DBs 4 and 5, and return the bench environment for it."""
    if not name.startswith("ts_bench"):
        raise ValueError(f"scratch databases are named ts_bench*, not {name}")
    _make_keyring()
    template = f"ts_bench_tpl_{_migrations_digest()}"
    conn = _admin_connection()
    with conn.cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE 'ts_bench_tpl_%%'")
        templates = {row[0] for row in cursor.fetchall()}
        if template not in templates:
            for old in templates:
                cursor.execute(f"DROP DATABASE IF EXISTS {old}")
            print(f"migrating a template database ({template}) ...", flush=True)
            cursor.execute(f"CREATE DATABASE {template}")
            try:
                manage("migrate", "-v0", env=bench_env(template))
            except BaseException:
                cursor.execute(f"DROP DATABASE IF EXISTS {template}")
                raise
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        cursor.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    conn.close()
    env = bench_env(name)
    flush_redis()
    if not (DATA_DIR / "static" / "staticfiles.json").exists():
        manage("collectstatic", "--noinput", "-v0", env=env)
    return env


def flush_redis() -> None:
    import redis

    for db in (CACHE_DB, BROKER_DB):
        redis.Redis.from_url(f"{REDIS}/{db}").flushdb()


def _make_keyring() -> None:
    if not KEYRING.exists():
        KEYRING.parent.mkdir(parents=True, exist_ok=True)
        code = "from ops.crypto import Keyring; print(Keyring.fresh().dumps(), end='')"
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
        )
        KEYRING.write_text(done.stdout)
        KEYRING.chmod(0o600)


# --- Processes and their CPU time ----------------------------------------------------------


def _cpu_ticks(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and its children (a gunicorn master and its workers)."""
    return sum(_cpu_ticks(p) for p in [pid, *_children(pid)]) / TICK


def pg_backends_cpu(database: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to ``database``."""
    conn = _admin_connection()
    with conn.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [database])
        pids = [row[0] for row in cursor.fetchall()]
    conn.close()
    return {pid: _cpu_ticks(pid) / TICK for pid in pids}


class Process:
    """A child process in its own process group, stopped with it."""

    def __init__(self, args: list[str], env: dict, log: Path) -> None:
        self.log = log
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    @property
    def pid(self) -> int:
        return self.proc.pid

    def check(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.log.name} exited:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def gunicorn(env: dict, port: int, *, workers: int, threads: int, probe: str = "/health"):
    """gunicorn as the production Procfile runs it, up once ``probe`` answers."""
    args = [
        sys.executable, "-m", "gunicorn", "tradingsite.wsgi", "--bind", f"{HOST}:{port}",
        "--workers", str(workers), "--threads", str(threads), "--log-level", "warning",
    ]  # fmt: skip
    server = Process(args, env, DATA_DIR / f"gunicorn-{port}.log")
    deadline = time.monotonic() + 60
    while True:
        server.check()
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", probe)
            if conn.getresponse().status == 200:
                return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"gunicorn on {port} did not answer {probe} within 60 s")
        time.sleep(0.2)


# --- Requests ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Req:
    """One HTTP request, as bytes for wrk and as parts for http.client."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""

    def raw(self) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


def plain(port: int, method: str, path: str, payload: dict | None = None) -> Req:
    body = json.dumps(payload).encode() if payload is not None else b""
    headers = {"Host": f"{HOST}:{port}"}
    if payload is not None:
        headers |= {"Content-Type": "application/json", "Content-Length": str(len(body))}
    return Req(method, path, headers, body)


class Signer:
    """Signs requests the way the project's Python client does (its own requests session and
    ``HTTPSignatureAuth``), without sending them: each gets its own ``created`` and nonce."""

    def __init__(self, port: int, key_id: str, secret: str) -> None:
        from tradingsite_client import TradingSite

        self.base = f"http://{HOST}:{port}"
        self.session = TradingSite(self.base, key_id=key_id, secret=secret).session

    def sign(self, method: str, path: str, payload: dict | None = None) -> Req:
        prepared = self.session.prepare_request(
            requests.Request(method, self.base + path, json=payload)
        )
        headers = {"Host": prepared.url.split("/")[2], **prepared.headers}
        body = prepared.body or b""
        return Req(
            method, prepared.path_url, headers, body if isinstance(body, bytes) else body.encode()
        )


def send(port: int, req: Req, extra: dict | None = None) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    conn.request(
        req.method, req.path, body=req.body or None, headers={**req.headers, **(extra or {})}
    )
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def counted(port: int, reqs: list[Req], expect: int) -> dict:
    """Send each request alone with ``X-Bench-Count``; the mean (and range) of SQL statements
    and Redis round trips and commands per request, from the server's ``bench.counting``.
    The last request is sent in trace mode: what it ran, in order, goes in ``trace``."""
    seen: dict[str, list[int]] = {"sql": [], "redis": [], "redis_commands": []}
    trace = ""
    for i, req in enumerate(reqs):
        mode = "trace" if i == len(reqs) - 1 else "1"
        status, headers, body = send(port, req, {"X-Bench-Count": mode})
        if status != expect:
            raise RuntimeError(
                f"{req.method} {req.path} answered {status}, not {expect}: {body[:300]!r}"
            )
        if "x-bench-sql" not in headers:
            return {}  # no middleware there (the bare view): nothing to count with
        for name in seen:
            seen[name].append(int(headers[f"x-bench-{name.replace('_', '-')}"]))
        trace = headers.get("x-bench-trace", trace)
    found: dict = {name: round(sum(v) / len(v), 1) for name, v in seen.items()}
    found["range"] = {name: [min(v), max(v)] for name, v in seen.items()}
    found["trace"] = trace.split(" ; ") if trace else []
    return found


# --- wrk -----------------------------------------------------------------------------------


class Exhausted(RuntimeError):
    """wrk used every pre-signed request before the time was up."""


@dataclass
class Load:
    """One wrk phase and what the servers spent on it."""

    name: str
    connections: int
    requests: int
    seconds: float
    throughput: float
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int]
    errors: dict[str, int]
    cpu_ms: float | None = None
    pg_cpu_ms: float | None = None
    extra: dict = field(default_factory=dict)

    def row(self) -> dict:
        return {
            "name": self.name, "connections": self.connections, "requests": self.requests,
            "seconds": self.seconds, "throughput": self.throughput, "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms, "statuses": self.statuses, "errors": self.errors,
            "server_cpu_ms_per_request": self.cpu_ms, "pg_cpu_ms_per_request": self.pg_cpu_ms,
            **self.extra,
        }  # fmt: skip


def wrk(
    name: str, port: int, reqs: list[Req], *, connections: int, seconds: float, expect: int,
    cycle: bool, server_pid: int, database: str | None = None, threads: int = 2,
) -> Load:  # fmt: skip
    """Run wrk against ``port`` replaying ``reqs`` (each once unless ``cycle``: then every wrk
    thread cycles through all of them); fail loudly on any answer other than ``expect`` or
    any socket error.

    None is expected: wrk does not count the connections it closes itself at the end of a
    run. A read error is a connection the server closed (gunicorn's gthread worker closes
    one that sends no request for its data timeout plus ``--keep-alive``), a connect error
    one it did not accept in time."""
    binary = shutil.which("wrk")
    if not binary:
        raise RuntimeError("wrk is not installed (apt-get install -y wrk)")
    threads = min(threads, connections)
    if not cycle and len(reqs) < threads:
        raise ValueError(f"{name}: {len(reqs)} requests to send once cannot feed {threads} threads")
    with tempfile.NamedTemporaryFile("wb", suffix=".reqs", delete=False) as out:
        for req in reqs:
            raw = req.raw()
            out.write(f"{len(raw)}\n".encode() + raw)
    env = {**os.environ, "BENCH_REQUESTS": out.name, "BENCH_THREADS": str(threads)}
    env["BENCH_CYCLE"] = "1" if cycle else "0"
    cpu_before = tree_cpu_seconds(server_pid)
    pg_before = pg_backends_cpu(database) if database else {}
    try:
        done = subprocess.run(
            [binary, "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s",
             "--timeout", "30s", "-s", str(LUA), f"http://{HOST}:{port}/"],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
    finally:
        os.unlink(out.name)
    cpu = tree_cpu_seconds(server_pid) - cpu_before
    pg_after = pg_backends_cpu(database) if database else {}
    pg = sum(used - pg_before.get(pid, 0.0) for pid, used in pg_after.items())
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if done.returncode or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    result = json.loads(line[len("BENCH_JSON ") :])
    if result["exhausted"]:
        raise Exhausted(f"{name}: wrk used all {len(reqs)} pre-signed requests")
    statuses = {k: v for k, v in result["statuses"].items() if v}
    errors = {k: v for k, v in result["errors"].items() if v}
    if set(statuses) != {str(expect)} or errors:
        raise RuntimeError(
            f"{name}: expected only {expect}, got {statuses} with socket errors {errors} "
            f"in {result['requests']} requests over {connections} connections; "
            f"first other answer: {result.get('sample', '')!r}"
        )
    count = result["requests"]
    return Load(
        name=name,
        connections=connections,
        requests=count,
        seconds=round(result["duration_us"] / 1e6, 2),
        throughput=round(count / (result["duration_us"] / 1e6), 1),
        p50_ms=round(result["p50_us"] / 1000, 2),
        p99_ms=round(result["p99_us"] / 1000, 2),
        statuses=statuses,
        errors=errors,
        cpu_ms=round(cpu * 1000 / count, 2) if count else None,
        pg_cpu_ms=round(pg * 1000 / count, 2) if database and count else None,
    )


def wrk_signed(make, name: str, port: int, *, rate_guess: float, seconds: float, **kwargs) -> Load:
    """wrk over freshly signed requests: ``make(n)`` signs n of them just before the run
    (their ``created`` must be within 300 s of the server's clock). Enough are signed for
    three times ``rate_guess``; if wrk still runs out, the phase runs again with more."""
    count = int(rate_guess * seconds * 3) + 50 * kwargs["connections"]
    for _ in range(3):
        try:
            return wrk(name, port, make(count), seconds=seconds, cycle=False, **kwargs)
        except Exhausted as exc:
            print(f"  {exc}; again with {count * 4}", flush=True)
            count *= 4
    raise RuntimeError(f"{name}: still out of pre-signed requests at {count}")


def table(rows: list[dict], columns: list[tuple[str, str, int]]) -> str:
    """A plain text table: ``columns`` are (key, heading, width)."""
    lines = ["".join(f"{head:>{width}}" if i else f"{head:<{width}}"
                     for i, (_, head, width) in enumerate(columns))]  # fmt: skip
    for row in rows:
        cells = []
        for i, (key, _, width) in enumerate(columns):
            value = row.get(key)
            text = "-" if value is None else str(value)
            cells.append(f"{text:>{width}}" if i else f"{text:<{width}}")
        lines.append("".join(cells))
    return "\n".join(lines)


def write_json(path: Path | None, results: dict) -> None:
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2) + "\n")
