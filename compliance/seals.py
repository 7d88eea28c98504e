"""Signed seals of every audit chain's head, written outside the database.

The database's owner can bypass its triggers: cut a chain's tail and move its head back,
delete a chain, or rewrite history with fresh hashes, and the chain walk
(``compliance.verify``) still passes. A seal remembers the heads where the database cannot
reach: ``seal_write`` appends one JSON line to the sink (``compliance.seal_sinks``)::

    {"v": 1, "seal": 42, "at": "2026-12-01T04:01:00.123456+00:00", "chains": 3051,
     "events": 918204, "root": "<Merkle root of every head>",
     "heads": {"account:17": [2044, "<hash>"], ...},   # only heads changed since seal 41
     "prev": "<digest of seal 41>", "alg": "ed25519", "key_id": "<16 hex>", "sig": "<b64>"}

``heads`` holds the chains whose head moved since the previous seal, so a seal stays small
with thousands of accounts; replaying the seals in order rebuilds every head, and each
seal's ``root`` (over all heads, sorted) checks the replay. ``prev`` chains the seals:
a seal removed or altered breaks the next one's link. ``sig`` is Ed25519 over the seal's
canonical JSON without ``sig``; the digest is sha256 of the canonical JSON with it.

Before sealing, the writer checks that every head sealed before is still on its chain
(not moved back, not gone, its event still there with its hash), and refuses to seal over
a rewrite. A seal with no head changed since the previous one is skipped, unless forced
(the end-of-day seal is).
"""

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db.models import Q

from compliance.models import GENESIS_HASH, AuditEvent
from compliance.seal_keys import SealKey, seal_key
from compliance.seal_sinks import FileSink, S3Sink, SealConflict, SealRecord, seal_sink
from compliance.selectors import audit_heads, released_bounds

VERSION = 1
ALGORITHM = "ed25519"
FIELDS = ("v", "seal", "at", "chains", "events", "root", "heads", "prev", "alg", "key_id")
ANCHOR_BATCH = 500


class SealError(Exception):
    """A seal line that cannot be read; the message names the line."""


class SealRefused(Exception):
    """The trail no longer holds what an earlier seal sealed: no seal is written over it."""


def canonical(seal: dict) -> bytes:
    return json.dumps(seal, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def seal_digest(seal: dict) -> str:
    """The digest the next seal's ``prev`` names: sha256 of the whole seal, signature too."""
    return hashlib.sha256(canonical(seal)).hexdigest()


def signed_part(seal: dict) -> bytes:
    return canonical({name: value for name, value in seal.items() if name != "sig"})


def _leaf(chain: str, seq: int, hash_: str) -> bytes:
    return hashlib.sha256(b"\x00" + f"{chain}\n{seq}\n{hash_}".encode()).digest()


def merkle_root(heads: dict[str, Iterable]) -> str:
    """The Merkle root over the (chain, seq, hash) heads sorted by chain: leaves and inner
    nodes are hashed with distinct prefixes; an odd node is carried up unchanged."""
    level = [_leaf(chain, *heads[chain]) for chain in sorted(heads)]
    if not level:
        return hashlib.sha256(b"").hexdigest()
    while len(level) > 1:
        pairs = [level[i : i + 2] for i in range(0, len(level), 2)]
        level = [
            hashlib.sha256(b"\x01" + pair[0] + pair[1]).digest() if len(pair) == 2 else pair[0]
            for pair in pairs
        ]
    return level[0].hex()


def seal_parse(record: SealRecord) -> dict:
    """The seal a stored line holds, or SealError naming the line and what is wrong."""
    try:
        seal = json.loads(record.text)
    except ValueError as exc:
        why = "; ".join(record.problems) or exc.msg
        raise SealError(f"{record.label}: not a JSON seal ({why})") from None
    if not isinstance(seal, dict):
        raise SealError(f"{record.label}: not a JSON object")
    missing = [name for name in (*FIELDS, "sig") if name not in seal]
    if missing:
        raise SealError(f"{record.label}: the seal has no {', '.join(missing)}")
    if not isinstance(seal["seal"], int) or not isinstance(seal["heads"], dict):
        raise SealError(f"{record.label}: 'seal' must be a number and 'heads' an object")
    for chain, head in seal["heads"].items():
        if not (isinstance(head, list) and len(head) == 2 and isinstance(head[0], int)):
            raise SealError(f"{record.label}: the head of {chain} is not [seq, hash]")
    return seal


@dataclass
class SealedState:
    """Every head as the seals so far say, and where the seal chain ends."""

    number: int = 0
    digest: str = GENESIS_HASH
    cursor: object = None
    heads: dict[str, list] = field(default_factory=dict)

    def apply(self, seal: dict, cursor: object) -> None:
        self.heads.update({chain: list(head) for chain, head in seal["heads"].items()})
        self.number, self.digest, self.cursor = seal["seal"], seal_digest(seal), cursor


def seals_replay(sink, state: SealedState | None = None) -> SealedState:
    """``state`` (default: empty) carried forward over the sink's seals after it."""
    state = state or SealedState()
    for record in sink.read(state.cursor):
        state.apply(seal_parse(record), record.cursor)
    return state


_states: dict[str, SealedState] = {}  # per process, per sink: where the last seal left off
_states_lock = threading.Lock()


def _caught_up(sink) -> SealedState:
    """The sealed state at the sink's tail: the cached one carried forward, or (a new
    process, or another writer rewrote what the cache knew) replayed from the start."""
    cached = _states.get(sink.url)
    if cached is None:
        return seals_replay(sink)
    state = SealedState(cached.number, cached.digest, cached.cursor, dict(cached.heads))
    records: Iterator[SealRecord] = sink.read(state.cursor)
    for record in records:
        seal = seal_parse(record)
        if seal["prev"] != state.digest:
            return seals_replay(sink)
        state.apply(seal, record.cursor)
    return state


def _anchor_problems(sealed: dict[str, list], heads: dict[str, tuple]) -> list[str]:
    """What no longer holds of the heads sealed before, against the heads read now."""
    problems, moved = [], []
    for chain, (seq, hash_) in sorted(sealed.items()):
        head = heads.get(chain)
        if head is None:
            problems.append(f"chain {chain}: its head row is gone (sealed at seq {seq})")
        elif head[0] < seq:
            problems.append(f"chain {chain}: its head is at seq {head[0]}, behind sealed {seq}")
        elif head[0] == seq and head[1] != hash_:
            problems.append(f"chain {chain} at seq {seq}: the head's hash is not the sealed one")
        elif head[0] > seq:
            moved.append((chain, seq, hash_))
    # A sealed head released to the archive left the table; the archive verified its link.
    released = released_bounds()
    moved = [m for m in moved if m[1] > released.get(m[0], (0, ""))[0]]
    for start in range(0, len(moved), ANCHOR_BATCH):
        batch = moved[start : start + ANCHOR_BATCH]
        match = Q()
        for chain, seq, _ in batch:
            match |= Q(chain=chain, seq=seq)
        rows = AuditEvent.objects.filter(match).values_list("chain", "seq", "hash")
        found = {(chain, seq): hash_ for chain, seq, hash_ in rows}
        for chain, seq, hash_ in batch:
            if found.get((chain, seq)) != hash_:
                problems.append(f"chain {chain} at seq {seq}: the sealed event is gone or changed")
    return problems


@dataclass(frozen=True)
class WrittenSeal:
    """A seal written, and where."""

    seal: dict
    where: str

    @property
    def number(self) -> int:
        return self.seal["seal"]


def seal_write(
    *, force: bool = False, sink: FileSink | S3Sink | None = None, key: SealKey | None = None
) -> WrittenSeal | None:
    """Seal every chain's head; return the seal written, or None when no head moved since
    the previous seal (and ``force`` is off). Raises SealRefused, naming the chains, when
    the trail no longer holds an earlier seal's heads."""
    key = key or seal_key()
    sink = sink or seal_sink()
    for _attempt in range(3):
        with _states_lock, sink.locked():
            state = _caught_up(sink)
            heads = audit_heads()
            problems = _anchor_problems(state.heads, heads)
            if problems:
                _states[sink.url] = state
                raise SealRefused(
                    f"Not sealed: the audit trail no longer holds what seal {state.number} "
                    f"sealed: {'; '.join(problems[:10])}"
                    + (f" (and {len(problems) - 10} more)" if len(problems) > 10 else "")
                )
            changed = {
                chain: list(head)
                for chain, head in sorted(heads.items())
                if state.heads.get(chain) != list(head)
            }
            if not changed and not force:
                _states[sink.url] = state
                return None
            seal = {
                "v": VERSION,
                "seal": state.number + 1,
                "at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
                "chains": len(heads),
                "events": sum(seq for seq, _ in heads.values()),
                "root": merkle_root(heads),
                "heads": changed,
                "prev": state.digest,
                "alg": ALGORITHM,
                "key_id": key.id,
            }
            seal["sig"] = key.sign(signed_part(seal))
            try:
                where = sink.append(seal["seal"], canonical(seal).decode())
            except SealConflict:
                _states[sink.url] = state  # another writer got there: catch up, try again
                continue
            state.apply(seal, _cursor_after(sink, seal["seal"]))
            _states[sink.url] = state
            return WrittenSeal(seal, where)
    raise SealConflict(f"{sink.url}: other writers kept writing the next seal; try again")


def _cursor_after(sink, number: int) -> object:
    """Where reading resumes after the seal just written."""
    if isinstance(sink, S3Sink):
        return sink.key(number)
    return sink.path.stat().st_size  # under the lock, so our line is the last


def seal_cache_clear() -> None:
    """Forget what this process knows of the sinks (as a new process would)."""
    with _states_lock:
        _states.clear()
