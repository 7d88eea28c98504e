"""Change stamps: one opaque value per thing that web processes cache (an API key, a user's
roles, every role's permissions, the IP allowlist), shared by every process.

A change bumps its stamp to a fresh random value; a process that cached the thing under the
old stamp sees the difference on its next request and reloads. The stamps live in Redis on
the production profile (read by ``ops.admission`` in the request's one round trip) and in the
Django cache on the embedded profile. A bump made inside a transaction is made twice: at
once, and again after the commit, so no process can reload the old rows under the new stamp.
"""

import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

PREFIX = "ts:stamp:"
#: Long enough to outlive any per-process cache entry; a lost stamp only forces a reload.
TTL_SECONDS = 86400
PERMISSIONS = "permissions"
ALLOWLIST = "allowlist"


def key_stamp(key_id: str) -> str:
    return f"key:{key_id}"


def user_stamp(user_id: int) -> str:
    return f"user:{user_id}"


def redis_key(name: str) -> str:
    return f"{PREFIX}{name}"


def _redis():
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def _write(names: tuple[str, ...]) -> None:
    if settings.REDIS_URL:
        with _redis().pipeline(transaction=False) as pipe:
            for name in names:
                pipe.set(redis_key(name), uuid.uuid4().hex, ex=TTL_SECONDS)
            pipe.execute()
    else:
        cache.set_many({redis_key(n): uuid.uuid4().hex for n in names}, timeout=TTL_SECONDS)


def stamp_bump(*names: str) -> None:
    """Give each named stamp a new value, now and (inside a transaction) after the commit."""
    _write(names)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: _write(names))


def stamps_read(names: list[str]) -> tuple:
    """The current values (None for a stamp never bumped), in the order of ``names``."""
    keys = [redis_key(n) for n in names]
    if settings.REDIS_URL:
        return tuple(_redis().mget(keys))
    found = cache.get_many(keys)
    return tuple(found.get(k) for k in keys)
