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

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address
from django_guid import get_guid

from compliance.chain import chain_of, event_hash, plain
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


def _next_link(chain: str) -> tuple[int, str]:
    """Lock the chain's head until the transaction ends and claim the next seq: returns it
    and the hash it links to. One statement on PostgreSQL (UPDATE ... RETURNING)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_SQL, [chain])
            row = cursor.fetchone()
            if row is None:
                _head_made(chain)
                cursor.execute(_CLAIM_SQL, [chain])
                row = cursor.fetchone()
        return row[0], row[1]
    head = AuditChain.objects.select_for_update(of=("self",)).filter(key=chain).first()
    if head is None:
        _head_made(chain)
        head = AuditChain.objects.select_for_update(of=("self",)).get(key=chain)
    head.seq += 1
    AuditChain.objects.filter(key=chain).update(seq=head.seq)
    return head.seq, head.hash


_CLAIM_SQL = "UPDATE compliance_auditchain SET seq = seq + 1 WHERE key = %s RETURNING seq, hash"
_COLUMNS = (
    "chain", "seq", "occurred_at", "action", "object_type", "object_id", "actor_id",
    "actor_username", "source_ip", "request_id", "before", "after", "prev_hash", "hash",
)  # fmt: skip
#: The event and its head's new hash in one statement (a data-modifying CTE).
_APPEND_SQL = """
WITH head AS (UPDATE compliance_auditchain SET hash = %s, updated_at = %s WHERE key = %s)
INSERT INTO compliance_auditevent (chain, seq, occurred_at, action, object_type, object_id,
    actor_id, actor_username, source_ip, request_id, before, after, prev_hash, hash)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id
"""


def _append(fields: dict) -> AuditEvent:
    """Insert the event and move its chain's head to it."""
    event = AuditEvent(**fields)
    if connection.vendor != "postgresql":
        event.save()
        AuditChain.objects.filter(key=event.chain).update(
            hash=event.hash, updated_at=event.occurred_at
        )
        return event
    values = [
        json.dumps(fields[c]) if c in ("before", "after") and fields[c] is not None else fields[c]
        for c in _COLUMNS
    ]
    with connection.cursor() as cursor:
        cursor.execute(_APPEND_SQL, [event.hash, event.occurred_at, event.chain, *values])
        event.pk = cursor.fetchone()[0]
    event._state.adding, event._state.db = False, connection.alias
    return event


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
    fields = {
        "action": _checked("action", action),
        "object_type": _checked("object_type", object_type),
        "object_id": _checked("object_id", str(object_id)),
        "actor_id": actor.pk if actor is not None else None,
        "actor_username": actor.get_username()[:150] if actor is not None else SYSTEM_ACTOR,
        "source_ip": _normalised_ip(source_ip),
        "request_id": (request_id or "")[:100],
        "before": plain(before),
        "after": plain(after),
    }
    chain = chain_of(obj, account_id)
    with transaction.atomic(savepoint=False):
        seq, prev_hash = _next_link(chain)
        fields.update(chain=chain, seq=seq, prev_hash=prev_hash, occurred_at=timezone.now())
        fields["hash"] = event_hash(fields)
        return _append(fields)


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
