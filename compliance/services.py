"""Writes of the compliance app: appending to the audit trail and checkpointing it.

``audit_record`` is the only code that writes ``AuditEvent`` rows. Call it inside the
transaction of the change it describes, as late as possible: it locks the head of the
event's chain (the account's, or the firm's) until that transaction ends, so the writers
of one chain append in turn, and it is the last lock the transaction takes
(``orders.locks``). An account's chain is written under the account's own lock, so the
trail adds no contention between accounts.
"""

import ipaddress
import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field

from asgiref.local import Local
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address
from django_guid import get_guid

from compliance.chain import HASHED_FIELDS, chain_of, event_hash, plain
from compliance.context import current_audit_context
from compliance.models import AuditChain, AuditCheckpoint, AuditEvent
from compliance.selectors import audit_checkpoint_latest

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "system"


class AuditChainBroken(Exception):
    """The chain failed verification; ``result`` says where and why."""

    def __init__(self, result) -> None:
        self.result = result
        super().__init__(str(result))


def _normalised_ip(value: str | None) -> str | None:
    """The address as the database will give it back (so the hash survives), or None."""
    if not value:
        return None
    try:
        address = ipaddress.ip_address(str(value).strip())
    except ValueError:
        logger.warning("Audit event without source IP: %r is not an IP address", value)
        return None
    return clean_ipv6_address(str(address)) if address.version == 6 else str(address)


def _checked(field: str, value: str) -> str:
    limit = AuditEvent._meta.get_field(field).max_length
    if len(value) > limit:
        raise ValueError(f"An audit event's {field} is at most {limit} characters: {value!r}")
    return value


def _head_made(chain: str) -> None:
    """Make the chain's head on its first event, or rebuild it from its last event if it
    went missing (a restore)."""
    last = AuditEvent.objects.filter(chain=chain).order_by("-seq").values("seq", "hash").first()
    AuditChain.objects.bulk_create([AuditChain(key=chain, **(last or {}))], ignore_conflicts=True)
    if last:
        logger.warning("Audit chain %s had no head; rebuilt at seq %s", chain, last["seq"])


_CLAIM_SQL = "UPDATE compliance_auditchain SET seq = seq + %s WHERE key = %s RETURNING seq, hash"
_COLUMNS = (*HASHED_FIELDS, "hash")
_ROW = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
#: The events and their head's new hash in one statement (a data-modifying CTE).
_APPEND_SQL = (
    "WITH head AS (UPDATE compliance_auditchain SET hash = %s, updated_at = %s "  # noqa: S608
    f"WHERE key = %s) INSERT INTO compliance_auditevent ({', '.join(_COLUMNS)}) "
    "VALUES {rows} RETURNING id, seq"
)  # the names are fixed; every value is a parameter


def _claim(chain: str, count: int) -> tuple[int, str]:
    """Lock the chain's head until the transaction ends and claim ``count`` more seqs:
    returns the last of them and the hash the first links to. One statement on PostgreSQL
    (UPDATE ... RETURNING)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_SQL, [count, chain])
            row = cursor.fetchone()
            if row is None:
                _head_made(chain)
                cursor.execute(_CLAIM_SQL, [count, chain])
                row = cursor.fetchone()
        return row[0], row[1]
    head = AuditChain.objects.select_for_update(of=("self",)).filter(key=chain).first()
    if head is None:
        _head_made(chain)
        head = AuditChain.objects.select_for_update(of=("self",)).get(key=chain)
    head.seq += count
    AuditChain.objects.filter(key=chain).update(seq=head.seq)
    return head.seq, head.hash


def _column(fields: dict, column: str):
    value = fields[column]
    return json.dumps(value) if column in ("before", "after") and value is not None else value


def _append(chain: str, events: list[AuditEvent]) -> None:
    """Link ``events`` (unsaved, in order) onto their chain and store them with the chain's
    new head: one claim and one insert, however many events."""
    last_seq, prev_hash = _claim(chain, len(events))
    for seq, event in enumerate(events, start=last_seq - len(events) + 1):
        event.chain, event.seq, event.prev_hash = chain, seq, prev_hash
        event.hash = prev_hash = event_hash(vars(event))
    head_at = events[-1].occurred_at
    if connection.vendor != "postgresql":
        AuditEvent.objects.bulk_create(events)
        AuditChain.objects.filter(key=chain).update(hash=prev_hash, updated_at=head_at)
        return
    values = [_column(vars(event), c) for event in events for c in _COLUMNS]
    with connection.cursor() as cursor:
        cursor.execute(
            _APPEND_SQL.format(rows=", ".join([_ROW] * len(events))),
            [prev_hash, head_at, chain, *values],
        )
        ids = {seq: pk for pk, seq in cursor.fetchall()}
    for event in events:
        event.pk = ids[event.seq]
        event._state.adding, event._state.db = False, connection.alias


@dataclass
class _Batch:
    savepoints: list[str]
    held: list[AuditEvent] = field(default_factory=list)


_batches = Local()


@contextmanager
def audit_batch():
    """Hold the events recorded inside it and append them when it ends: one claim of each
    chain's head and one insert per chain, however many events the transaction writes.

    Open it inside the transaction of the change (``orders.locks.spine_transaction`` does),
    so the chains' heads are the last rows the transaction locks, in one order (by chain
    key). Nested, it joins the outer batch. An event recorded inside a savepoint the batch
    did not open is appended at once, so a rolled-back savepoint takes its events with it
    (it then comes before the events held, on its chain). If the body raises, nothing held
    is written: the transaction rolls back anyway.
    """
    if getattr(_batches, "current", None) is not None or not connection.in_atomic_block:
        yield
        return
    batch = _batches.current = _Batch(list(connection.savepoint_ids))
    try:
        yield
        chains: dict[str, list[AuditEvent]] = {}
        for event in batch.held:
            chains.setdefault(event.chain, []).append(event)
        for chain in sorted(chains):
            _append(chain, chains[chain])
    finally:
        _batches.current = None


@contextmanager
def audited_atomic():
    """``transaction.atomic()`` whose audit events are appended together at its end
    (:func:`audit_batch`). Also a decorator."""
    with transaction.atomic(), audit_batch():
        yield


def audit_record(
    *,
    action: str,
    obj: Model | None = None,
    account_id: int | None = None,
    object_type: str = "",
    object_id: str = "",
    actor: AbstractBaseUser | None = None,
    source_ip: str | None = None,
    request_id: str | None = None,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    """Append one event to the audit trail and return it.

    It joins the caller's transaction (the event commits or rolls back with the
    caller's work) or opens its own. ``obj`` gives ``object_type`` and ``object_id``, and
    the chain: its account's (``account_id`` overrides), else the firm's.
    Actor, source IP and request id not given come from the current request (see
    ``AuditContextMiddleware``); outside a request the actor is "system".
    Inside :func:`audit_batch` the event is linked and stored when the batch ends (its
    ``pk``, ``seq`` and ``hash`` are set then).
    """
    context = current_audit_context()
    if actor is None and context is not None:
        actor = context.user
    if actor is not None and not actor.is_authenticated:
        actor = None
    if source_ip is None and context is not None:
        source_ip = context.source_ip
    if request_id is None:
        request_id = (context.request_id if context is not None else None) or get_guid()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    event = AuditEvent(
        chain=chain_of(obj, account_id),
        occurred_at=timezone.now(),
        action=_checked("action", action),
        object_type=_checked("object_type", object_type),
        object_id=_checked("object_id", str(object_id)),
        actor_id=actor.pk if actor is not None else None,
        actor_username=actor.get_username()[:150] if actor is not None else SYSTEM_ACTOR,
        source_ip=_normalised_ip(source_ip),
        request_id=(request_id or "")[:100],
        before=plain(before),
        after=plain(after),
    )
    batch = getattr(_batches, "current", None)
    if batch is not None and connection.savepoint_ids == batch.savepoints:
        batch.held.append(event)
        return event
    with transaction.atomic(savepoint=False):
        _append(event.chain, [event])
    return event


def audit_checkpoint(*, verify: bool = True) -> AuditCheckpoint:
    """Store every chain's head as a checkpoint that later verifications can start from.

    With ``verify`` (the default) the events since the previous checkpoint are verified
    first and the checkpoint names the heads verified; a broken chain raises
    :class:`AuditChainBroken` and stores nothing. Running it twice with no new events
    returns the existing checkpoint.
    """
    from compliance.verify import audit_verify

    previous = audit_checkpoint_latest()
    if verify:
        result = audit_verify(since_checkpoint=previous)
        if not result.ok:
            raise AuditChainBroken(result)
        heads = result.heads
    else:
        heads = {c.key: [c.seq, c.hash] for c in AuditChain.objects.all()}
    if previous is not None and previous.heads == heads:
        return previous
    events = sum(seq for seq, _ in heads.values())
    return AuditCheckpoint.objects.create(heads=heads, events=events)


def audit_seal(*, force: bool = False):
    """Seal every chain's head outside the database (``compliance.seals``); return the seal
    written, or None when nothing moved since the last one and ``force`` is off."""
    from compliance.seals import seal_write

    return seal_write(force=force)
