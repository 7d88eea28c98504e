"""Verification of the audit trail: every chain walked in seq order, streamed in batches.

In each chain every event's hash is recomputed, every ``prev_hash`` must name the event
before it, seq must run from 1 without gaps, and the chain's head row must name its last
event. The first broken link of each chain is reported with the chain, its seq and why.

The heads are read first and only events up to them are checked, so events appended
while verification runs are left for the next run rather than reported as broken. From a
checkpoint, only the chains whose head moved since are walked (from the checkpointed
head on); every checkpointed head must still be on its chain.
"""

import json
import multiprocessing
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import orjson
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL

from compliance.chain import GENESIS_HASH, HASHED_FIELDS, stored_event_hash
from compliance.models import AuditChain, AuditCheckpoint, AuditEvent
from compliance.selectors import released_bounds
from tradingsite.processes import django_setup

if TYPE_CHECKING:
    from ops.progress import JobProgress

CHUNK_SIZE = 5000
#: Below this many events to walk, spawning worker processes costs more than it saves.
PARALLEL_MIN_EVENTS = 200_000
_COLUMNS = (*HASHED_FIELDS, "hash")
_CHAIN, _SEQ, _PREV, _HASH = (
    _COLUMNS.index(name) for name in ("chain", "seq", "prev_hash", "hash")
)


@dataclass(frozen=True)
class ChainBreak:
    """The first broken link of one chain."""

    chain: str
    seq: int | None
    reason: str

    def __str__(self) -> str:
        where = f" at seq {self.seq}" if self.seq is not None else ""
        return f"chain {self.chain}{where}: {self.reason}"


@dataclass(frozen=True)
class VerifyResult:
    """What one verification found. ``checked`` counts the events verified after the start;
    ``heads`` maps every chain verified to ``[seq, hash]`` of its last good event."""

    checked: int
    seconds: float
    heads: dict[str, list]
    breaks: list[ChainBreak] = field(default_factory=list)
    checkpoint_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.breaks

    @property
    def first_break(self) -> ChainBreak | None:
        return self.breaks[0] if self.breaks else None

    @property
    def broken_chain(self) -> str | None:
        return self.breaks[0].chain if self.breaks else None

    @property
    def broken_seq(self) -> int | None:
        return self.breaks[0].seq if self.breaks else None

    @property
    def reason(self) -> str:
        return self.breaks[0].reason if self.breaks else ""

    @property
    def events(self) -> int:
        """Events in the verified chains, up to their heads."""
        return sum(seq for seq, _ in self.heads.values())

    def __str__(self) -> str:
        since = " since the checkpoint" if self.checkpoint_id else ""
        took = f"in {self.seconds:.2f} s"
        chains = f"{len(self.heads):,} chain{'s' if len(self.heads) != 1 else ''}"
        if self.ok:
            return (
                f"Audit trail intact: {self.checked:,} events checked{since} in {chains} "
                f"({self.events:,} events in all) {took}."
            )
        more = f" (and {len(self.breaks) - 1} more broken chains)" if len(self.breaks) > 1 else ""
        return (
            f"Audit trail BROKEN: {self.breaks[0]}{more}. "
            f"{self.checked:,} events checked{since} {took}."
        )


class _Walk:
    """One chain's walk from a start (genesis or a checkpointed head) towards its head."""

    def __init__(self, chain: str, start_seq: int, start_hash: str, head: tuple | None) -> None:
        self.chain, self.head = chain, head
        self.seq, self.hash, self.checked = start_seq, start_hash, 0
        self.broken: ChainBreak | None = None
        self.beyond: int | None = None  # the first seq seen beyond the head read at the start

    def step(self, row: tuple) -> None:
        if self.head is not None and row[_SEQ] > self.head[0]:
            self.beyond = self.beyond or row[_SEQ]  # appended since, or forged past the head
            return
        if self.broken is not None:
            return
        expected = self.seq + 1
        if row[_SEQ] != expected:
            self.broken = ChainBreak(self.chain, expected, f"seq {expected} is missing")
        elif row[_PREV] != self.hash:
            reason = f"prev_hash does not match event {self.seq}"
            self.broken = ChainBreak(self.chain, expected, reason)
        elif stored_event_hash(dict(zip(_COLUMNS, row, strict=True))) != row[_HASH]:
            reason = "hash does not match the event's contents"
            self.broken = ChainBreak(self.chain, expected, reason)
        else:
            self.seq, self.hash = row[_SEQ], row[_HASH]
            self.checked += 1

    def finish(self) -> ChainBreak | None:
        """The head read before the walk must name the walk's last event."""
        if self.broken is not None:
            return self.broken
        if self.head is None:
            return ChainBreak(self.chain, None, "the chain has events but no head row")
        head_seq, head_hash = self.head
        if head_seq > self.seq:
            return ChainBreak(self.chain, self.seq + 1, f"seq {self.seq + 1} is missing")
        if head_hash != self.hash:
            reason = f"the chain head's hash does not match event {self.seq}"
            return ChainBreak(self.chain, self.seq, reason)
        return None


def _anchor_breaks(heads: dict[str, list]) -> list[ChainBreak]:
    """Every checkpointed head must still be an intact event of its chain."""
    wanted = [(chain, seq, hash_) for chain, (seq, hash_) in heads.items() if seq > 0]
    if not wanted:
        return []
    match = Q()
    for chain, seq, _ in wanted:
        match |= Q(chain=chain, seq=seq)
    found = {
        (r[_CHAIN], r[_SEQ]): r for r in AuditEvent.objects.filter(match).values_list(*_COLUMNS)
    }
    breaks = []
    for chain, seq, hash_ in sorted(wanted):
        row = found.get((chain, seq))
        if row is None:
            breaks.append(ChainBreak(chain, seq, f"seq {seq} of the checkpoint is missing"))
        elif row[_HASH] != hash_:
            reason = f"event {seq} no longer has the checkpoint's hash"
            breaks.append(ChainBreak(chain, seq, reason))
        elif stored_event_hash(dict(zip(_COLUMNS, row, strict=True))) != row[_HASH]:
            breaks.append(ChainBreak(chain, seq, "hash does not match the event's contents"))
    return breaks


def _stream(rows, chunk_size: int) -> Iterator[tuple]:
    """The rows of ``rows``, streamed. On PostgreSQL through a server-side cursor that skips
    the ORM's per-value converters (the verifier's hot loop): timestamps come back aware
    from psycopg2, and ``before``/``after`` as JSON text, decoded here."""
    if connection.vendor != "postgresql":
        yield from rows.iterator(chunk_size=chunk_size)
        return
    try:
        sql, params = rows.query.sql_with_params()
    except EmptyResultSet:  # nothing to walk (no chain moved since the checkpoint)
        return
    before, after = _COLUMNS.index("before"), _COLUMNS.index("after")
    loads = _loads
    with transaction.atomic(), connection.connection.cursor(name="audit_verify") as cursor:
        cursor.itersize = chunk_size
        cursor.execute(sql, params)
        for row in cursor:
            row = list(row)
            if row[before] is not None:
                row[before] = loads(row[before])
            if row[after] is not None:
                row[after] = loads(row[after])
            yield row


def _loads(text: str):
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # e.g. an integer beyond 64 bits
        return json.loads(text)


def _walk(events, start: dict, heads: dict, chunk_size: int, progress=None) -> dict[str, _Walk]:
    """Walk ``events`` (in chain and seq order) from each chain's start towards its head."""
    walks: dict[str, _Walk] = {}
    rows = _stream(events.order_by("chain", "seq").values_list(*_COLUMNS), chunk_size)
    for count, row in enumerate(rows, 1):
        walk = walks.get(row[_CHAIN])
        if walk is None:
            seq, hash_ = start.get(row[_CHAIN], (0, GENESIS_HASH))
            walk = walks[row[_CHAIN]] = _Walk(row[_CHAIN], seq, hash_, heads.get(row[_CHAIN]))
        walk.step(row)
        if progress is not None and count % chunk_size == 0:
            progress.advance(chunk_size)
    return walks


def _walk_share(args) -> dict[str, _Walk]:
    """One worker process's share of the chains (those whose name hashes to ``share``)."""
    database, query, start, heads, chunk_size, share, shares = args
    connection.settings_dict["NAME"] = database  # the parent's (a test's) database, not the URL's
    events = AuditEvent.objects.all()
    events.query = query  # a QuerySet would be evaluated to be pickled; its query is not
    events = events.annotate(share=RawSQL("mod(abs(hashtext(chain)), %s)", [shares])).filter(
        share=share
    )
    try:
        return _walk(events, start, heads, chunk_size)
    finally:
        connection.close()


def _walk_parallel(events, start, heads, chunk_size, workers: int) -> dict[str, _Walk]:
    """Walk the chains in ``workers`` fresh processes (spawned, not forked: the parent may
    run threads and hold connections), each over its share of them."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=django_setup
    ) as pool:
        database = connection.settings_dict["NAME"]
        shares = [
            (database, events.query, start, heads, chunk_size, k, workers) for k in range(workers)
        ]
        walks: dict[str, _Walk] = {}
        for part in pool.map(_walk_share, shares):
            walks.update(part)
    return walks


def _beyond_head_breaks(walks: list[_Walk]) -> list[ChainBreak]:
    """Events seen past a head are new only if the head has moved past them since: a writer
    commits the event and its head together."""
    if not walks:
        return []
    now = dict(
        AuditChain.objects.filter(key__in=[w.chain for w in walks]).values_list("key", "seq")
    )
    return [
        ChainBreak(
            w.chain,
            w.beyond,
            f"event {w.beyond} lies beyond the chain head (seq {now.get(w.chain, 0)})",
        )
        for w in walks
        if now.get(w.chain, 0) < w.beyond
    ]


def _after_bounds(bounds: dict[str, tuple[int, str]]) -> Q:
    match = ~Q(chain__in=list(bounds))
    for chain, (seq, _) in bounds.items():
        match |= Q(chain=chain, seq__gt=seq)
    return match


def audit_verify(
    *,
    since_checkpoint: AuditCheckpoint | None = None,
    chains: Iterable[str] | None = None,
    progress: "JobProgress | None" = None,
    chunk_size: int = CHUNK_SIZE,
    workers: int = 1,
) -> VerifyResult:
    """Verify every chain (or ``chains``), from genesis or from a checkpoint; report the
    first broken link of each broken chain.

    ``progress`` (an ``ops.progress.JobProgress``) is given the total and advanced in
    batches. ``workers`` above 1 walks the chains in that many processes (PostgreSQL,
    outside a transaction, and a trail of ``PARALLEL_MIN_EVENTS`` or more to walk;
    otherwise in this one).
    """
    started = time.monotonic()
    heads = {c.key: (c.seq, c.hash) for c in AuditChain.objects.all()}
    start = dict(since_checkpoint.heads) if since_checkpoint else {}
    # Events released to the archive (compliance.retention) are gone from the table: each
    # such chain starts from its archived boundary, which the archive verified links up.
    released = released_bounds()
    anchors = {c: h for c, h in start.items() if h[0] > released.get(c, (0, ""))[0]}
    breaks = _anchor_breaks(anchors) if since_checkpoint else []
    for chain, (seq, hash_) in released.items():
        if seq >= start.get(chain, (0, GENESIS_HASH))[0]:
            start[chain] = [seq, hash_]
    events = AuditEvent.objects.all()
    if released and since_checkpoint is None:
        events = events.filter(_after_bounds(released))
    if chains is not None:
        chains = set(chains)
        heads = {chain: head for chain, head in heads.items() if chain in chains}
        events = events.filter(chain__in=chains)
    if since_checkpoint is not None:  # only the chains that moved, from their checkpoint on
        moved = [c for c, head in heads.items() if tuple(start.get(c, (0, GENESIS_HASH))) != head]
        gone = sorted(set(start) - set(heads))
        breaks += [ChainBreak(c, None, "the chain's head row is gone") for c in gone]
        after = Q(pk__in=[])
        for chain in moved:
            after |= Q(chain=chain, seq__gt=start.get(chain, (0, GENESIS_HASH))[0])
        events = events.filter(after)

    to_walk = sum(max(seq - start.get(c, (0, GENESIS_HASH))[0], 0) for c, (seq, _) in heads.items())
    if progress is not None:
        progress.set_total(to_walk)
    parallel = workers > 1 and connection.vendor == "postgresql" and to_walk >= PARALLEL_MIN_EVENTS
    if parallel and not connection.in_atomic_block:
        walks = _walk_parallel(events, start, heads, chunk_size, workers)
        if progress is not None:
            progress.advance(sum(w.checked for w in walks.values()) // chunk_size * chunk_size)
    else:
        walks = _walk(events, start, heads, chunk_size, progress)
    for chain, head in heads.items():  # a head with no events walked: all of it is missing
        if chain not in walks and tuple(start.get(chain, (0, GENESIS_HASH))) != head:
            seq, hash_ = start.get(chain, (0, GENESIS_HASH))
            walks[chain] = _Walk(chain, seq, hash_, head)
    breaks += [b for walk in walks.values() if (b := walk.finish())]
    breaks += _beyond_head_breaks([w for w in walks.values() if w.beyond and not w.broken])
    if progress is not None:
        progress.advance(sum(w.checked for w in walks.values()) % chunk_size)
    verified = {c: list(start.get(c, (0, GENESIS_HASH))) for c in heads}
    verified.update({c: [w.seq, w.hash] for c, w in walks.items() if w.head is not None})
    return VerifyResult(
        checked=sum(w.checked for w in walks.values()),
        seconds=time.monotonic() - started,
        heads=verified,
        breaks=sorted(breaks, key=lambda b: (b.chain, b.seq or 0)),
        checkpoint_id=since_checkpoint.pk if since_checkpoint else None,
    )
