"""Writes of the compliance app: appending to the audit trail and checkpointing it.

``audit_record`` is the only code that writes ``AuditEvent`` rows. Call it inside the
transaction of the change it describes, as late as possible: it locks the chain head
until that transaction ends, so every writer appends in turn.
"""

import ipaddress
import logging

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address
from django_guid import get_guid

from compliance.chain import event_hash, plain
from compliance.context import current_audit_context
from compliance.models import AuditChainHead, AuditCheckpoint, AuditEvent
from compliance.selectors import audit_checkpoint_latest

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "system"
HEAD_ID = 1


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


def _locked_head() -> AuditChainHead:
    """The chain head, locked until the transaction ends; re-created if it went missing.

    The data migration creates the row; only a flush (tests) or a restore removes it,
    and then the chain continues from its last event.
    """
    try:
        return AuditChainHead.objects.select_for_update().get(pk=HEAD_ID)
    except AuditChainHead.DoesNotExist:
        last = AuditEvent.objects.order_by("-seq").values("seq", "hash").first()
        _, created = AuditChainHead.objects.get_or_create(pk=HEAD_ID, defaults=last or {})
        if created and last:
            logger.warning("Audit chain head was missing; rebuilt at seq %s", last["seq"])
        return AuditChainHead.objects.select_for_update().get(pk=HEAD_ID)


def audit_record(
    *,
    action: str,
    obj: Model | None = None,
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
    caller's work) or opens its own. ``obj`` gives ``object_type`` and ``object_id``.
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
    with transaction.atomic(savepoint=False):
        head = _locked_head()
        fields.update(seq=head.seq + 1, prev_hash=head.hash, occurred_at=timezone.now())
        event = AuditEvent(**fields, hash=event_hash(fields))
        event.save()
        head.seq, head.hash = event.seq, event.hash
        head.save(update_fields=["seq", "hash", "updated_at"])
    return event


def audit_checkpoint(*, verify: bool = True) -> AuditCheckpoint:
    """Store the chain's head as a checkpoint that later verifications can start from.

    With ``verify`` (the default) the events since the previous checkpoint are verified
    first and the checkpoint names the last verified event; a broken chain raises
    :class:`AuditChainBroken` and stores nothing. Running it twice with no new events
    returns the existing checkpoint.
    """
    from compliance.verify import audit_verify

    previous = audit_checkpoint_latest()
    if verify:
        result = audit_verify(since_checkpoint=previous)
        if not result.ok:
            raise AuditChainBroken(result)
        seq, hash_ = result.last_seq, result.last_hash
    else:
        head = AuditChainHead.objects.filter(pk=HEAD_ID).first() or AuditChainHead()
        seq, hash_ = head.seq, head.hash
    if previous is not None and (previous.seq, previous.hash) == (seq, hash_):
        return previous
    return AuditCheckpoint.objects.create(seq=seq, hash=hash_)
