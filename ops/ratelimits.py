"""API rate limits, held in Redis so they hold across every web process.

Each request spends a token from the buckets that apply to it (pyrate-limiter's token
bucket; its Lua script makes each take atomic in Redis):

- signed with an API key: the key's bucket and its account's (general requests a second);
- signed in otherwise: the user's bucket;
- an order write (POST, PATCH, DELETE under ``/api/v1/orders``): also the orders bucket of
  the account (or user), at SEBI's threshold of 10 orders a second for an algo that is not
  registered with the exchange, higher for a key whose algo is.

A refusal is a 429 problem+json with ``Retry-After`` and counts in
``api_rate_limited_total{limit}``. On the embedded profile (no Redis) buckets live in
the process, so each web process has its own.
"""

import math
from dataclasses import dataclass

from django.conf import settings
from prometheus_client import Counter
from pyrate_limiter import Duration, Rate, RateItem, TokenBucket
from pyrate_limiter.buckets.redis_state import RedisStateStore
from pyrate_limiter.buckets.state_bucket import StateBucket
from rest_framework import exceptions
from rest_framework.throttling import BaseThrottle

from ops.signing import api_key

PREFIX = "ts:rl:"
LIMITED = Counter("api_rate_limited_total", "API requests refused by a rate limit", ["limit"])
_local: dict[str, StateBucket] = {}


@dataclass(frozen=True)
class Limit:
    kind: str  # key, account, user or orders: the metric's label
    name: str  # what the client is told is limited
    bucket: str  # whose tokens
    per_second: int


def _bucket(key: str, per_second: int) -> StateBucket:
    rates = [Rate(per_second, Duration.SECOND)]
    if settings.REDIS_URL:
        from django_redis import get_redis_connection

        store = RedisStateStore(get_redis_connection("default"), key=f"{PREFIX}{key}")
        return StateBucket(rates, algorithm=TokenBucket(), store=store)
    bucket = _local.get(key)
    if bucket is None or bucket.rates[0].limit != per_second:
        bucket = _local[key] = StateBucket(rates, algorithm=TokenBucket())
    return bucket


def take(limit: Limit) -> float:
    """Spend one token; 0 when admitted, else the seconds to wait."""
    bucket = _bucket(f"{limit.bucket}:{limit.per_second}", limit.per_second)
    item = RateItem(limit.name, timestamp=bucket.now())
    if bucket.put(item):
        return 0.0
    waited = bucket.waiting(item)
    return max(waited, 1) / 1000 if waited and waited > 0 else 1.0


def limits_for(request) -> list[Limit]:
    key = api_key(request)
    order_write = request.method not in ("GET", "HEAD", "OPTIONS") and request.path.startswith(
        "/api/v1/orders"
    )
    if key is not None:
        found = [
            Limit(
                "key",
                f"requests with API key {key.key_id}",
                f"key:{key.pk}",
                settings.API_RATE_PER_KEY,
            ),
            Limit(
                "account",
                f"API requests for account {key.account.code}",
                f"account:{key.account_id}",
                settings.API_RATE_PER_ACCOUNT,
            ),
        ]
        if order_write:
            registered = key.algo_registered
            found.append(
                Limit(
                    "orders",
                    f"orders for account {key.account.code}"
                    + ("" if registered else " (SEBI threshold for an unregistered algo)"),
                    f"orders:account:{key.account_id}",
                    settings.API_ORDER_RATE_REGISTERED if registered else settings.API_ORDER_RATE,
                )
            )
        return found
    if request.user and request.user.is_authenticated:
        user = request.user.pk
        found = [Limit("user", "API requests", f"user:{user}", settings.API_RATE_PER_USER)]
        if order_write:
            found.append(Limit("orders", "orders", f"orders:user:{user}", settings.API_ORDER_RATE))
        return found
    return []


class ApiRateThrottle(BaseThrottle):
    """DRF throttle: the first exhausted bucket refuses the request with a 429."""

    def allow_request(self, request, view) -> bool:
        for limit in limits_for(request):
            wait = take(limit)
            if wait:
                LIMITED.labels(limit.kind).inc()
                raise exceptions.Throttled(
                    wait=math.ceil(wait),
                    detail=f"Too many {limit.name}: at most {limit.per_second} a second.",
                )
        return True
