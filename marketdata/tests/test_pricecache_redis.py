"""The price cache on real Redis, with real processes: one round-trip per batch, one upstream
call per key however many processes miss it together, and a token bucket they all share."""

import json
import os
import subprocess
import sys
import time
import uuid
from itertools import combinations
from unittest import mock

import pytest
import redis as redis_py
from django.conf import settings as django_settings
from django.db import connection
from django_redis import get_redis_connection

from conftest import BASE_DIR, require
from marketdata import pricecache
from marketdata.importers import parse_index_constituents
from marketdata.management.commands.import_instruments import NIFTY_50_FILE
from marketdata.pricecache import quote_get_many, quotes_publish
from marketdata.providers.synthetic import SyntheticProvider
from marketdata.services import instruments_import

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shared_redis(redis_url, settings):
    url = redis_url.rsplit("/", 1)[0] + "/3"  # a database of its own, flushed around each test
    settings.CACHES = {
        **settings.CACHES,
        "quotes": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "ts:q",
        },
    }
    conn = get_redis_connection("quotes")
    conn.flushdb()
    pricecache._limiter.cache_clear()
    yield url, conn
    conn.flushdb()
    pricecache._limiter.cache_clear()


@pytest.fixture
def nifty50():
    return instruments_import(
        rows=parse_index_constituents(NIFTY_50_FILE.read_text()).rows, index="NIFTY 50"
    )


def children(url: str, args_each: list[list[str]], **env) -> tuple[str, list[subprocess.Popen]]:
    require(
        connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL), shared with the children"
    )
    db = django_settings.DATABASES["default"]
    run = f"run-{uuid.uuid4().hex[:8]}"
    child_env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": url,
        "PRICE_CACHE_RUN": run,
        **env,
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "marketdata.tests.price_cache_child", *args],
            cwd=BASE_DIR,
            env=child_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in args_each
    ]
    return run, procs


def start_together(conn, run: str, procs: list[subprocess.Popen]) -> list[str]:
    deadline = time.monotonic() + 60
    while conn.scard(f"{run}:ready") < len(procs):
        assert time.monotonic() < deadline, [
            p.communicate()[1][-2000:] for p in procs if p.poll() is not None
        ]
        time.sleep(0.05)
    conn.set(f"{run}:go", 1)
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err[-3000:]
        outputs.append(out)
    return outputs


def test_a_batch_of_fifty_cached_quotes_is_one_redis_round_trip(shared_redis, nifty50):
    keys = pricecache.instrument_specs().keys()
    assert len(keys) == 50
    quotes_publish(SyntheticProvider().quotes(list(keys)))
    real = redis_py.Redis.execute_command
    commands = []

    def counting(self, *args, **kwargs):
        commands.append(args[0])
        return real(self, *args, **kwargs)

    with mock.patch.object(redis_py.Redis, "execute_command", counting):
        quotes = quote_get_many(list(keys))
    assert len(quotes) == 50
    assert commands == ["MGET"]


def test_eight_processes_missing_one_key_make_one_upstream_call(shared_redis, nifty50):
    url, conn = shared_redis
    run, procs = children(
        url, [["get", "NSE:INFY"]] * 8, PRICE_CACHE_DELAY="0.5", PRICE_CACHE_PATIENCE="30"
    )
    outputs = start_together(conn, run, procs)
    answers = {line.strip() for line in outputs}
    assert len(answers) == 1, answers  # every process got the same quote
    calls = [json.loads(c) for c in conn.lrange(f"{run}:calls", 0, -1)]
    assert [keys for _, keys in calls] == [["NSE:INFY"]]


def test_the_token_bucket_holds_across_processes(shared_redis, nifty50):
    url, conn = shared_redis
    rate = 4
    keys = sorted(pricecache.instrument_specs())[:16]
    # Four processes, four upstream calls each.
    run, procs = children(
        url, [["upstream", *keys[i::4]] for i in range(4)], MARKETDATA_UPSTREAM_RATE=str(rate)
    )
    start_together(conn, run, procs)
    times = sorted(json.loads(c)[0] for c in conn.lrange(f"{run}:calls", 0, -1))
    assert len(times) == 16
    # A token bucket of `rate` a second with a burst of `rate` admits at most
    # rate + rate * (t_j - t_i) calls in any interval [t_i, t_j]; allow one for clock skew.
    for i, j in combinations(range(len(times)), 2):
        assert j - i + 1 <= rate + rate * (times[j] - times[i]) + 1, (i, j, times)
    assert times[-1] - times[0] >= (16 - rate) / rate - 0.25
