"""The risk breaches register: limits found breached, and kill switches tripped and reset.

Read through ``risk.selectors``; the three streams are merged in time order.
"""

import heapq
from collections.abc import Iterator

from compliance.reports.registers.base import Column, Register, ReportParams, register
from compliance.reports.registers.common import CHUNK, instants

RISK_COLUMNS = (
    Column("at", "Time", 27),
    Column("event", "Event", 16),
    Column("record_id", "Record", 8),
    Column("kind", "Limit / level", 16),
    Column("mode", "Mode", 11),
    Column("source", "Found by", 11),
    Column("account_id", "Account", 8),
    Column("ucc", "UCC", 10),
    Column("algo_id", "Algo ID", 12),
    Column("instrument", "Instrument", 12),
    Column("limit", "Limit", 13),
    Column("value", "Value", 13),
    Column("kill_switch_id", "Kill switch", 9),
    Column("reason", "Reason", 28),
    Column("by", "By", 12),
)

BREACH, TRIPPED, RESET = "breach", "kill_switch_tripped", "kill_switch_reset"


def _breaches(rows) -> Iterator[tuple]:
    for b in rows.iterator(chunk_size=CHUNK):
        yield (
            b.detected_at, BREACH, b.pk, b.kind, "", b.source, b.account_id,
            getattr(b.account, "code", ""), b.algo_id, "", b.limit, b.value, b.kill_switch_id,
            "", "",
        )  # fmt: skip


def _switches(rows, event: str) -> Iterator[tuple]:
    for k in rows.iterator(chunk_size=CHUNK):
        at, who = (k.reset_at, k.reset_by) if event == RESET else (k.tripped_at, k.tripped_by)
        yield (
            at, event, k.pk, k.level, k.mode, "", k.account_id, getattr(k.account, "code", ""),
            k.algo_id, getattr(k.instrument, "key", "") if k.instrument_id else "", None, None,
            k.pk, k.reason, who.username if who else "system",
        )  # fmt: skip


def risk_rows(params: ReportParams) -> Iterator[tuple]:
    from risk.selectors import breaches_for_register, kill_switches_for_register

    start, end = instants(params)
    scope = {"start": start, "end": end, "account_id": params.account_id,
             "client_id": params.client_id, "algo_id": params.algo_id}  # fmt: skip
    yield from heapq.merge(
        _breaches(breaches_for_register(**scope)),
        _switches(kill_switches_for_register(**scope), TRIPPED),
        _switches(kill_switches_for_register(**scope, reset=True), RESET),
        key=lambda row: (row[0], row[1], row[2]),
    )


register(
    Register(
        kind="risk_breaches",
        title="Risk breaches and kill switches",
        columns=RISK_COLUMNS,
        rows=risk_rows,
        filters=frozenset({"date_from", "date_to", "account", "client", "algo_id"}),
        description="Every limit breach, and every kill switch tripped or reset, in time order.",
    )
)
