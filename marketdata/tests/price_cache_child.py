"""A separate process for the cross-process price-cache tests (started by test_pricecache_redis).

Usage: python -m marketdata.tests.price_cache_child get KEY | upstream KEY [KEY ...]
It records every provider call in Redis, then waits for the test's start signal so that
all children act at the same moment.
"""

import json
import os
import sys
import time


def main() -> None:
    import django

    django.setup()
    from django_redis import get_redis_connection

    from marketdata import pricecache
    from marketdata.providers.synthetic import SyntheticProvider

    redis = get_redis_connection("quotes")
    run = os.environ["PRICE_CACHE_RUN"]
    delay = float(os.environ.get("PRICE_CACHE_DELAY", "0"))

    class Recording(SyntheticProvider):
        def quotes(self, keys, *, at=None):
            redis.rpush(f"{run}:calls", json.dumps([time.time(), list(keys)]))
            time.sleep(delay)
            return super().quotes(keys, at=at)

    pricecache.get_provider = Recording
    # On a loaded machine (CI's two cores, eight children) a leader can take longer than
    # the production wait; the tests count upstream calls, so followers wait for it here.
    patience = float(os.environ.get("PRICE_CACHE_PATIENCE", "0"))
    if patience:
        pricecache.LOCK_SECONDS = patience
        pricecache.WAIT_FOR_LEADER_SECONDS = patience
    pricecache.instrument_specs()  # load the master before the race starts
    redis.sadd(f"{run}:ready", os.getpid())
    while not redis.exists(f"{run}:go"):
        time.sleep(0.005)
    mode, keys = sys.argv[1], sys.argv[2:]
    if mode == "get":
        quote = pricecache.quote_get(keys[0])
        print(
            json.dumps(
                {"last_price": str(quote.last_price), "timestamp": quote.timestamp.isoformat()}
            )
        )
    else:
        for key in keys:
            pricecache.upstream_quotes([key], reason="test")


if __name__ == "__main__":
    main()
