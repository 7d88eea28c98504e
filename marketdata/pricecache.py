"""The price cache: quotes for traders and the order path, fast and without stampedes.

- ``quote_get_many`` reads a whole batch with one cache round-trip (``get_many``).
- A miss goes upstream **single-flight**: for each missing key one caller, across
  all processes, takes a lock (Redis in production, a process lock on the embedded
  profile) and asks the provider; the others wait for the value to land in the cache.
- Every upstream call first takes a token from a bucket shared by all processes
  (pyrate-limiter's token bucket, kept in Redis), ``MARKETDATA_UPSTREAM_RATE`` a second.
- Hits, misses, latency and upstream calls are exported to Prometheus.

Quotes live in the ``quotes`` cache alias with a TTL (``MARKETDATA_QUOTE_TTL``, 60 s)
and, locally, a bounded number of entries.
"""

import contextlib
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import lru_cache

from django.conf import settings
from django.core.cache import caches
from prometheus_client import Counter, Histogram
from pyrate_limiter import Duration, Limiter, Rate, TokenBucket
from pyrate_limiter.buckets.redis_state import RedisStateStore
from pyrate_limiter.buckets.state_bucket import StateBucket
from redis.exceptions import LockError

from marketdata.providers import get_provider
from marketdata.quotes import Quote
from marketdata.selectors import UnknownInstrument, instrument_specs, normalise_keys

ALIAS = "quotes"
LOCK_SECONDS = 5  # longest a leader may hold a key before the lock lapses
WAIT_FOR_LEADER_SECONDS = 3.0
POLL_SECONDS = 0.02

REQUESTS = Counter(
    "marketdata_price_cache_lookups_total", "Quote lookups by cache result", ["result"]
)
LATENCY = Histogram(
    "marketdata_price_cache_seconds",
    "Time to answer one quote_get_many call",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
UPSTREAM_CALLS = Counter(
    "marketdata_upstream_calls_total", "Calls to the market-data provider", ["reason"]
)
UPSTREAM_WAIT = Histogram(
    "marketdata_upstream_rate_wait_seconds", "Time spent waiting for the upstream token bucket"
)


def quote_cache():
    return caches[ALIAS]


def _uses_redis() -> bool:
    return type(quote_cache()).__module__.startswith("django_redis")


def _cache_key(key: str) -> str:
    return f"quote:{key}"


def quotes_publish(quotes: Mapping[str, Quote]) -> None:
    """Store fresh quotes (from the feed, warming, prefetching or a miss)."""
    if quotes:
        quote_cache().set_many({_cache_key(key): quote for key, quote in quotes.items()})


def quotes_cached(keys: Iterable[str]) -> dict[str, Quote]:
    """Whatever the cache holds for ``keys``; one round-trip, no upstream call."""
    keys = list(keys)
    found = quote_cache().get_many([_cache_key(key) for key in keys])
    return {key: found[_cache_key(key)] for key in keys if _cache_key(key) in found}


def quote_get(key: str) -> Quote:
    return next(iter(quote_get_many([key]).values()))


def quote_get_many(keys: Iterable[str], *, client: str = "") -> dict[str, Quote]:
    """Quotes by key, in the order asked. Raises UnknownInstrument before any upstream call."""
    started = time.perf_counter()
    keys = normalise_keys(keys)
    unknown = set(keys) - set(instrument_specs(keys))
    if unknown:
        raise UnknownInstrument(unknown)
    quotes = quotes_cached(keys)
    misses = [key for key in keys if key not in quotes]
    REQUESTS.labels("hit").inc(len(quotes))
    REQUESTS.labels("miss").inc(len(misses))
    from marketdata.prefetch_service import access_record

    access_record(keys, client=client)
    if misses:
        quotes.update(_fill(misses))
    LATENCY.observe(time.perf_counter() - started)
    return {key: quotes[key] for key in keys if key in quotes}


# --- Upstream: rate-limited, single-flight --------------------------------------------------


@lru_cache(maxsize=8)
def _limiter(rate: int, shared: bool) -> Limiter:
    store = None
    if shared:
        from django_redis import get_redis_connection

        store = RedisStateStore(get_redis_connection(ALIAS), key="ts:q:upstream-bucket")
    bucket = StateBucket([Rate(rate, Duration.SECOND)], algorithm=TokenBucket(), store=store)
    return Limiter(bucket)


def upstream_quotes(
    keys: list[str], *, reason: str, at: datetime | None = None
) -> dict[str, Quote]:
    """Ask the provider (after a token from the shared bucket) and publish what it answers."""
    waited = time.perf_counter()
    _limiter(settings.MARKETDATA_UPSTREAM_RATE, _uses_redis()).try_acquire(
        "upstream", blocking=True
    )
    UPSTREAM_WAIT.observe(time.perf_counter() - waited)
    UPSTREAM_CALLS.labels(reason).inc()
    quotes = get_provider().quotes(keys, at=at)
    quotes_publish(quotes)
    return quotes


_local_locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)


def _lock(key: str):
    if _uses_redis():
        from django_redis import get_redis_connection

        return get_redis_connection(ALIAS).lock(f"ts:q:flight:{key}", timeout=LOCK_SECONDS)
    return _local_locks[key]


def _fill(misses: list[str]) -> dict[str, Quote]:
    held = {}
    for key in misses:
        lock = _lock(key)
        if lock.acquire(blocking=False):
            held[key] = lock
    fetched: dict[str, Quote] = {}
    try:
        if held:
            # Another leader may have filled some keys between our read and our lock.
            fetched = quotes_cached(held)
            missing = [key for key in held if key not in fetched]
            if missing:
                fetched.update(upstream_quotes(missing, reason="miss"))
    finally:
        for lock in held.values():
            # A lock that lapsed while we fetched is no longer ours to release.
            with contextlib.suppress(LockError):
                lock.release()
    waiting = [key for key in misses if key not in held]
    if waiting:
        fetched.update(_await_leaders(waiting))
    return fetched


def _await_leaders(keys: list[str]) -> dict[str, Quote]:
    """Wait for the processes that hold these keys to publish them; fetch any that never come."""
    deadline = time.monotonic() + WAIT_FOR_LEADER_SECONDS
    got: dict[str, Quote] = {}
    pending = list(keys)
    while pending and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        got.update(quotes_cached(pending))
        pending = [key for key in pending if key not in got]
    if pending:
        got.update(upstream_quotes(pending, reason="leader-timeout"))
    return got
