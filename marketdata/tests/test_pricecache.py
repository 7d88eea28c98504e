"""The price cache in one process: batches, misses, single flight among threads, TTL, metrics."""

import threading
import time
from unittest import mock

import pytest
from prometheus_client import REGISTRY

from marketdata import pricecache
from marketdata.pricecache import quote_get, quote_get_many, quotes_cached
from marketdata.providers.synthetic import SyntheticProvider
from marketdata.selectors import UnknownInstrument, instrument_specs

pytestmark = pytest.mark.django_db


class CountingProvider(SyntheticProvider):
    """The synthetic market, slowed down and counting its calls."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[list[str]] = []
        self.delay = delay
        self._lock = threading.Lock()

    def quotes(self, keys, *, at=None):
        with self._lock:
            self.calls.append(list(keys))
        time.sleep(self.delay)
        return super().quotes(keys, at=at)


@pytest.fixture
def upstream():
    provider = CountingProvider()
    with mock.patch.object(pricecache, "get_provider", return_value=provider):
        yield provider


def counter(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_miss_then_hit(instruments, upstream):
    first = quote_get("NSE:INFY")
    second = quote_get("nse:infy")
    assert first == second
    assert upstream.calls == [["NSE:INFY"]]


def test_a_batch_fetches_only_its_misses_in_one_call(instruments, upstream):
    quote_get("NSE:INFY")
    quotes = quote_get_many(["NSE:TCS", "NSE:INFY", "NSE:SBIN", "NSE:TCS"])
    assert list(quotes) == ["NSE:TCS", "NSE:INFY", "NSE:SBIN"]
    assert upstream.calls == [["NSE:INFY"], ["NSE:TCS", "NSE:SBIN"]]


def test_unknown_instruments_never_reach_upstream(instruments, upstream):
    with pytest.raises(UnknownInstrument, match="NSE:NOSUCH"):
        quote_get_many(["NSE:INFY", "NSE:NOSUCH"])
    assert upstream.calls == []


def test_concurrent_misses_for_one_key_make_one_upstream_call(instruments, upstream):
    upstream.delay = 0.3
    instrument_specs()  # load the master here: the threads must not touch the test database
    results, barrier = [], threading.Barrier(8)

    def ask():
        barrier.wait()
        results.append(quote_get("NSE:HDFCBANK"))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert len(set(results)) == 1
    assert upstream.calls == [["NSE:HDFCBANK"]]


def test_entries_expire_after_the_ttl(instruments, upstream, settings):
    settings.CACHES = {**settings.CACHES, "quotes": {**settings.CACHES["quotes"], "TIMEOUT": 1}}
    quote_get("NSE:INFY")
    assert quotes_cached(["NSE:INFY"])
    time.sleep(1.1)
    assert quotes_cached(["NSE:INFY"]) == {}
    quote_get("NSE:INFY")
    assert len(upstream.calls) == 2


def test_metrics_count_hits_misses_and_upstream_calls(instruments, upstream):
    before = (
        counter("marketdata_price_cache_lookups_total", result="hit"),
        counter("marketdata_price_cache_lookups_total", result="miss"),
        counter("marketdata_upstream_calls_total", reason="miss"),
    )
    quote_get_many(["NSE:INFY", "NSE:TCS"])
    quote_get_many(["NSE:INFY", "NSE:TCS", "NSE:SBIN"])
    after = (
        counter("marketdata_price_cache_lookups_total", result="hit"),
        counter("marketdata_price_cache_lookups_total", result="miss"),
        counter("marketdata_upstream_calls_total", reason="miss"),
    )
    assert [a - b for a, b in zip(after, before, strict=True)] == [2, 3, 2]


def test_local_token_bucket_spaces_upstream_calls(instruments, upstream, settings):
    settings.MARKETDATA_UPSTREAM_RATE = 5
    pricecache._limiter.cache_clear()
    started = time.monotonic()
    for key in ["NSE:INFY", "NSE:TCS", "NSE:SBIN", "NSE:HDFCBANK"] * 3:
        pricecache.upstream_quotes([key], reason="test")
    # 12 calls at 5/s with a burst of 5: at least (12 - 5) / 5 = 1.4 s.
    assert time.monotonic() - started >= 1.3
