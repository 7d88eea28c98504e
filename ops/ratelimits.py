"""API rate limits, held in Redis so they hold across every web process.

Each request spends a token from the buckets that apply to it (token buckets, GCRA as
pyrate-limiter's ``TokenBucket``: see ``ops.admission``, which spends them):

- signed with an API key: the key's bucket and its account's (general requests a second);
- signed in otherwise: the user's bucket;
- an order write (POST, PATCH, DELETE under ``/api/v1/orders``): also the orders bucket of
  the account (or user), at SEBI's threshold of 10 orders a second for an algo that is not
  registered with the exchange, higher for a key whose algo is.

A request spends one token from each of its buckets or, when one is empty, none at all. A
signed request's tokens are spent in the same Redis round trip as its nonce
(``ops.signing``); the throttle then only reads the outcome. A refusal is a 429
problem+json with ``Retry-After`` and counts in ``api_rate_limited_total{limit}``. On the
embedded profile (no Redis) buckets live in the process, so each web process has its own.
"""

import math
from dataclasses import dataclass

from django.conf import settings
from prometheus_client import Counter
from rest_framework import exceptions
from rest_framework.throttling import BaseThrottle

from ops.admission import Admission, Bucket, admit
from ops.models import ApiKey

LIMITED = Counter("api_rate_limited_total", "API requests refused by a rate limit", ["limit"])


@dataclass(frozen=True)
class Limit:
    kind: str  # key, account, user or orders: the metric's label
    name: str  # what the client is told is limited
    owner: str  # whose tokens
    per_second: int

    @property
    def bucket(self) -> Bucket:
        return Bucket(self.owner, self.per_second)


@dataclass(frozen=True)
class RateDecision:
    """The limit that refused the request (None: admitted) and the seconds to wait."""

    limit: Limit | None = None
    wait: float = 0.0


def spend(limits: list[Limit]) -> RateDecision:
    """Spend one token from each of ``limits`` (or none, if one is empty)."""
    if not limits:
        return RateDecision()
    return rate_decision(limits, admit(buckets=[limit.bucket for limit in limits]))


def take(limit: Limit) -> float:
    """Spend one token; 0 when admitted, else the seconds to wait."""
    return spend([limit]).wait


def rate_decision(limits: list[Limit], admission: Admission, current=None) -> RateDecision:
    """What ``admission`` decided for ``limits``. When the key's limits turned out to be
    ``current`` (its entry was reloaded, say its algo was registered meanwhile), the buckets
    that were not spent yet are spent now."""
    if admission.refused is not None:
        return RateDecision(limits[admission.refused], admission.wait)
    missed = [limit for limit in current or () if limit not in limits]
    return spend(missed) if missed else RateDecision()


def limits_for_key(key: ApiKey, method: str, path: str) -> list[Limit]:
    order_write = _order_write(method, path)
    found = [
        Limit(
            "key", f"requests with API key {key.key_id}", f"key:{key.pk}", settings.API_RATE_PER_KEY
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


def _order_write(method: str, path: str) -> bool:
    return method not in ("GET", "HEAD", "OPTIONS") and path.startswith("/api/v1/orders")


def limits_for(request) -> list[Limit]:
    if isinstance(request.auth, ApiKey):
        return limits_for_key(request.auth, request.method, request.path)
    if request.user and request.user.is_authenticated:
        user = request.user.pk
        found = [Limit("user", "API requests", f"user:{user}", settings.API_RATE_PER_USER)]
        if _order_write(request.method, request.path):
            found.append(Limit("orders", "orders", f"orders:user:{user}", settings.API_ORDER_RATE))
        return found
    return []


class ApiRateThrottle(BaseThrottle):
    """DRF throttle: a request whose bucket is empty is refused with a 429."""

    def allow_request(self, request, view) -> bool:
        decision = getattr(request._request, "rate_admission", None) or spend(limits_for(request))
        limit = decision.limit
        if limit is not None:
            LIMITED.labels(limit.kind).inc()
            raise exceptions.Throttled(
                wait=math.ceil(decision.wait),
                detail=f"Too many {limit.name}: at most {limit.per_second} a second.",
            )
        return True
