"""A signed request's shared state in one round trip: its nonce, the change stamps of what the
process cached for it, its key's first use this minute, and its rate-limit tokens.

On the production profile this is one Lua script in Redis, so it is atomic and costs one
round trip however many buckets apply. In order, it:

1. stores the nonce if it is new (``SET NX``); a nonce seen before answers "replay" and
   nothing else happens (a replayed request spends no tokens);
2. reads the change stamps (``ops.stamps``);
3. marks the key used this minute (``SET NX``), so one request a minute, across every
   process, records ``last_used_at``;
4. spends one token from every bucket, or none if any of them is empty: each bucket is a
   GCRA (token bucket) kept as one timestamp, in the hash layout of pyrate-limiter's
   ``TokenBucket`` (so processes of the previous release share the buckets during a rolling
   deploy), with a burst of one second's tokens.

On the embedded profile (no Redis) the same steps run against the Django local cache and
in-process buckets, with pyrate-limiter's GCRA deciding, under one lock.
"""

import threading
import time
from dataclasses import dataclass
from math import ceil

from django.conf import settings
from django.core.cache import cache
from pyrate_limiter import GCRA, Duration, Rate

from ops.stamps import redis_key

BUCKET_PREFIX = "ts:rl:"
USED_SECONDS = 60

_SCRIPT = """
local nonce_ttl, used_ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local nstamps, now_us = tonumber(ARGV[3]), tonumber(ARGV[4]) * 1000
if KEYS[1] ~= '' and not redis.call('SET', KEYS[1], '1', 'NX', 'EX', nonce_ttl) then
    return {0}
end
local stamps = {}
if nstamps > 0 then
    stamps = redis.call('MGET', unpack(KEYS, 3, 2 + nstamps))
end
local first = 0
if KEYS[2] ~= '' and redis.call('SET', KEYS[2], '1', 'NX', 'EX', used_ttl) then
    first = 1
end
local failed, retry, advanced = -1, 0, {}
for i = 3 + nstamps, #KEYS do
    local j = i - 2 - nstamps
    local emission, burst = tonumber(ARGV[3 + 2 * j]), tonumber(ARGV[4 + 2 * j])
    local tat = tonumber(redis.call('HGET', KEYS[i], 'tat1') or 0)
    if tat < now_us then tat = now_us end
    local allow_at = tat + emission - burst * emission
    if allow_at > now_us then
        failed, retry = j - 1, math.ceil((allow_at - now_us) / 1000)
        break
    end
    advanced[j] = tat + emission
end
if failed < 0 then
    for i = 3 + nstamps, #KEYS do
        local j = i - 2 - nstamps
        local ttl = math.ceil(2 * tonumber(ARGV[4 + 2 * j]) * tonumber(ARGV[3 + 2 * j]) / 1000)
        redis.call('HSET', KEYS[i], 'tat1', string.format('%.0f', advanced[j]))
        redis.call('PEXPIRE', KEYS[i], ttl)
    end
end
local reply = {1, first, failed, retry}
for i = 1, nstamps do reply[4 + i] = stamps[i] end
return reply
"""


@dataclass(frozen=True)
class Bucket:
    """Whose tokens (``name``), refilled at ``per_second`` with a burst of as many."""

    name: str
    per_second: int

    @property
    def key(self) -> str:
        return f"{BUCKET_PREFIX}{self.name}:{self.per_second}"


@dataclass(frozen=True)
class Admission:
    replay: bool = False
    #: The first use of the key this minute, in every process: record ``last_used_at``.
    first_use: bool = False
    stamps: tuple = ()
    #: Index of the first bucket that had no token, or None when all of them had one.
    refused: int | None = None
    #: Seconds until the refusing bucket has a token again.
    wait: float = 0.0


_local_tats: dict[str, int] = {}
_local_lock = threading.Lock()
_script = None


def _emission_us(per_second: int) -> int:
    return max(1, ceil(1_000_000 / per_second))


def _redis_admit(nonce_key, used_key, stamp_keys, buckets, nonce_ttl) -> Admission:
    global _script
    from django_redis import get_redis_connection

    client = get_redis_connection("default")
    if _script is None:
        _script = client.register_script(_SCRIPT)
    args = [nonce_ttl, USED_SECONDS, len(stamp_keys), int(time.time() * 1000)]
    for bucket in buckets:
        args += [_emission_us(bucket.per_second), bucket.per_second]
    keys = [nonce_key or "", used_key or "", *stamp_keys, *(b.key for b in buckets)]
    reply = _script(keys=keys, args=args, client=client)
    if reply[0] == 0:
        return Admission(replay=True)
    failed = int(reply[2])
    return Admission(
        first_use=bool(reply[1]),
        stamps=tuple(reply[4:]) + (None,) * (len(stamp_keys) - len(reply[4:])),
        refused=None if failed < 0 else failed,
        wait=max(int(reply[3]), 1) / 1000 if failed >= 0 else 0.0,
    )


def _local_admit(nonce_key, used_key, stamp_keys, buckets, nonce_ttl) -> Admission:
    if nonce_key and not cache.add(nonce_key, 1, timeout=nonce_ttl):
        return Admission(replay=True)
    found = cache.get_many(stamp_keys) if stamp_keys else {}
    first = bool(used_key) and cache.add(used_key, 1, timeout=USED_SECONDS)
    rates = [Rate(b.per_second, Duration.SECOND) for b in buckets]
    now = int(time.time() * 1000)
    refused, wait = None, 0.0
    with _local_lock:
        state = tuple(_local_tats.get(b.key, 0) for b in buckets)
        # GCRA.step sorts nothing and commits all-or-nothing, as the script does.
        advanced, decision = GCRA().step(rates, state, now, 1)
        if decision.allowed:
            _local_tats.update(zip((b.key for b in buckets), advanced, strict=True))
        else:
            refused = next(i for i, r in enumerate(rates) if r is decision.failing_rate)
            wait = max(decision.retry_after_ms or 1000, 1) / 1000
    return Admission(
        first_use=first,
        stamps=tuple(found.get(k) for k in stamp_keys),
        refused=refused,
        wait=wait,
    )


def admit(
    *,
    buckets: list[Bucket],
    nonce: str = "",
    nonce_ttl: int = 605,
    stamps: tuple[str, ...] = (),
    used: str = "",
) -> Admission:
    """Run the steps of the module docstring in one go; empty names skip their step."""
    stamp_keys = [redis_key(name) for name in stamps]
    if settings.REDIS_URL:
        # The nonce under the name the Django cache gave it before, for a rolling deploy.
        nonce_key = cache.make_key(f"ops:nonce:{nonce}") if nonce else ""
        used_key = f"ts:used:{used}" if used else ""
        return _redis_admit(nonce_key, used_key, stamp_keys, buckets, nonce_ttl)
    nonce_key = f"ops:nonce:{nonce}" if nonce else ""
    used_key = f"ops:used:{used}" if used else ""
    return _local_admit(nonce_key, used_key, stamp_keys, buckets, nonce_ttl)


def local_buckets_clear() -> None:
    """Empty the in-process buckets (tests start each with full buckets)."""
    with _local_lock:
        _local_tats.clear()
