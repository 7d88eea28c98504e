"""The audit trail's hash: one canonical JSON form of an event, used to write and to verify.

An event's hash is ``sha256(prev_hash + canonical_json(fields))`` where ``fields`` are
every column but ``id`` and ``hash`` (so the chain's name is covered: an event cannot be
moved to another chain). The canonical form must come out the same from
the values being written and from the values read back from any database, so:

- keys are sorted, separators are tight, text stays UTF-8 (no ``\\uXXXX`` escapes);
- datetimes are ISO 8601 in UTC with microseconds, dates and times ISO 8601;
- Decimals, UUIDs and IP addresses are strings; so are floats (``repr``), because
  PostgreSQL's jsonb rewrites numbers such as ``1e+16`` and the hash would not survive.

``before`` and ``after`` are stored already in this plain form (see :func:`plain`).
"""

import datetime as dt
import hashlib
import ipaddress
import json
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson
from django.utils.functional import Promise

from compliance.models import FIRM_CHAIN, GENESIS_HASH

__all__ = [
    "FIRM_CHAIN", "GENESIS_HASH", "HASHED_FIELDS", "canonical_json", "chain_of", "event_hash",
    "plain",
]  # fmt: skip

#: The columns covered by an event's hash, in no particular order (keys are sorted).
HASHED_FIELDS = (
    "chain",
    "seq",
    "occurred_at",
    "action",
    "object_type",
    "object_id",
    "actor_id",
    "actor_username",
    "source_ip",
    "request_id",
    "before",
    "after",
    "prev_hash",
)


def _utc_iso(moment: dt.datetime) -> str:
    if moment.tzinfo is None:  # only nested values can be naive; kept as given
        return moment.isoformat(timespec="microseconds")
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def plain(value: Any) -> Any:
    """``value`` as plain JSON types (dict, list, str, int, bool, None) in canonical form."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return _utc_iso(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID | ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    if isinstance(value, Promise):
        return str(value)
    raise TypeError(f"An audit event cannot hold a {type(value).__name__}: {value!r}")


def canonical_json(fields: Mapping[str, Any]) -> str:
    """The canonical JSON text of an event's hashed fields (other keys are ignored)."""
    return json.dumps(
        plain({name: fields[name] for name in HASHED_FIELDS}),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def event_hash(fields: Mapping[str, Any]) -> str:
    """The hex sha256 that links an event (given as its field values) into the chain."""
    text = fields["prev_hash"] + canonical_json(fields)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def stored_event_hash(fields: Mapping[str, Any]) -> str:
    """:func:`event_hash` of an event as read back from the database, the verifier's fast
    path: its ``before`` and ``after`` are plain JSON already (they were stored so), and
    only ``occurred_at`` needs its canonical text. A value that is not plain (a float
    slipped into the JSON by hand) gives another text, so another hash: it is reported.

    The text comes from orjson, which gives the same bytes as :func:`canonical_json` for
    plain values (``tests/test_chain.py`` checks it on generated values); an integer
    beyond 64 bits falls back to the standard library."""
    values = {name: fields[name] for name in HASHED_FIELDS}
    values["occurred_at"] = _utc_iso(values["occurred_at"])
    try:
        text = orjson.dumps(values, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        text = canonical_json(values).encode("utf-8")
    return hashlib.sha256(fields["prev_hash"].encode("ascii") + text).hexdigest()


def account_chain(account_id: int) -> str:
    return f"account:{account_id}"


def chain_of(obj: Any = None, account_id: int | None = None) -> str:
    """The chain an event belongs on: its account's (given, or the object's ``account_id``,
    or the object itself if it is a trading account), else the firm's."""
    if account_id is None and obj is not None:
        if obj._meta.label_lower == "orders.tradingaccount":
            account_id = obj.pk
        else:
            account_id = getattr(obj, "account_id", None)
    return account_chain(account_id) if account_id else FIRM_CHAIN
