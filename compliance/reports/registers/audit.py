"""The audit extract: the trail's events of a period, an object or an actor, with the hash
chain's fields, so that a reader can check each link (``compliance.chain``)."""

import json
from collections.abc import Iterator

from compliance.reports.registers.base import Column, Register, ReportParams, register
from compliance.reports.registers.common import CHUNK, in_period, reads

AUDIT_COLUMNS = (
    Column("event_id", "Event", 9),
    Column("chain", "Chain", 12),
    Column("seq", "Seq", 8),
    Column("occurred_at", "Time", 27),
    Column("action", "Action", 20),
    Column("object_type", "Object type", 16),
    Column("object_id", "Object", 9),
    Column("actor_id", "Actor id", 7),
    Column("actor", "Actor", 12),
    Column("source_ip", "Source IP", 13),
    Column("request_id", "Request", 14),
    Column("before", "Before", 26),
    Column("after", "After", 26),
    Column("prev_hash", "Previous hash", 20),
    Column("hash", "Hash", 20),
)


def _json(value: object) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


def _events(params: ReportParams):
    from compliance.models import AuditEvent

    events = AuditEvent.objects.filter(**in_period("occurred_at", params))
    if params.actor:
        events = events.filter(actor_username=params.actor)
    if params.object_type:
        events = events.filter(object_type=params.object_type)
    if params.object_id:
        events = events.filter(object_id=params.object_id)
    if params.account_id:
        events = events.filter(chain=f"account:{params.account_id}")
    return events


def audit_rows(params: ReportParams) -> Iterator[tuple]:
    events = _events(params)
    fields = ("id", "chain", "seq", "occurred_at", "action", "object_type", "object_id",
              "actor_id", "actor_username", "source_ip", "request_id", "before", "after",
              "prev_hash", "hash")  # fmt: skip
    for row in events.order_by("id").values_list(*fields).iterator(chunk_size=CHUNK):
        yield (*row[:11], _json(row[11]), _json(row[12]), *row[13:])


register(
    Register(
        kind="audit_extract",
        released=reads("audit_events"),
        title="Audit trail extract",
        columns=AUDIT_COLUMNS,
        rows=audit_rows,
        count=lambda params: _events(params).count(),
        filters=frozenset({"date_from", "date_to", "account", "actor", "object_type", "object_id"}),
        description="The audit trail's events with their chain, sequence and hashes.",
    )
)
