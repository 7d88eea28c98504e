"""Verification of the trail against its seals (``manage.py audit_verify --seals``).

The seals are read back from the sink and checked first among themselves: numbers follow
on, each ``prev`` names the digest of the seal before, each signature verifies with a
trusted public key, and the heads replayed up to each seal give its Merkle root. Then
every chain's last sealed head is looked up in the database: its event must exist, have
the sealed hash and contents that hash to it, and the chain's head row must be at or past
it. With the chain walk of ``compliance.verify`` (every link up to the head) this proves
each sealed head is still on an intact chain. A finding names the seal (number and time),
the chain and the seq.
"""

from dataclasses import dataclass, field

from django.db.models import Q

from compliance.chain import HASHED_FIELDS, event_hash
from compliance.models import GENESIS_HASH, AuditEvent
from compliance.seal_keys import signature_valid, trusted_public_keys
from compliance.seal_sinks import seal_sink
from compliance.seals import (
    ALGORITHM,
    ANCHOR_BATCH,
    SealError,
    merkle_root,
    seal_digest,
    seal_parse,
    signed_part,
)
from compliance.selectors import audit_heads, released_bounds
from compliance.verify import VerifyResult, audit_verify

_COLUMNS = (*HASHED_FIELDS, "hash")


@dataclass(frozen=True)
class SealFinding:
    """One thing the seals say is wrong: in which seal, and on which chain and seq."""

    reason: str
    seal: int | None = None
    at: str = ""
    chain: str = ""
    seq: int | None = None
    where: str = ""

    def __str__(self) -> str:
        parts = []
        if self.seal is not None:
            parts.append(f"seal {self.seal}" + (f" ({self.at})" if self.at else ""))
        elif self.where:
            parts.append(self.where)
        if self.chain:
            parts.append(f"chain {self.chain}" + (f" at seq {self.seq}" if self.seq else ""))
        return f"{', '.join(parts)}: {self.reason}" if parts else self.reason


@dataclass(frozen=True)
class SealReport:
    """What checking the trail against its seals found."""

    sink: str
    seals: int
    chains: int
    findings: list[SealFinding] = field(default_factory=list)
    last_at: str = ""

    @property
    def ok(self) -> bool:
        return not self.findings

    def __str__(self) -> str:
        if self.ok:
            if not self.seals:
                return f"Seals: none yet in {self.sink}; nothing to check against."
            return (
                f"Seals intact: {self.seals:,} seals in {self.sink} (the last at {self.last_at}), "
                f"{self.chains:,} sealed chain heads still on their chains."
            )
        lines = "\n".join(f"  - {finding}" for finding in self.findings)
        return f"Seals BROKEN: {len(self.findings)} finding(s) in {self.sink}:\n{lines}"


@dataclass
class _Sealed:
    seq: int
    hash: str
    seal: int
    at: str


def _read_seals(sink, findings: list[SealFinding]) -> tuple[dict[str, _Sealed], int, str]:
    """Replay the sink's seals, checking their chain, signatures and roots."""
    keys = trusted_public_keys()
    heads: dict[str, _Sealed] = {}
    number, digest, count, last_at = 0, GENESIS_HASH, 0, ""
    for record in sink.read():
        count += 1
        findings.extend(SealFinding(problem, where=record.label) for problem in record.problems)
        try:
            seal = seal_parse(record)
        except SealError as exc:
            findings.append(SealFinding(str(exc)))  # it names the line
            continue
        at, here = str(seal["at"]), seal["seal"]

        def found(reason: str, at=at, here=here, where=record.label) -> None:
            findings.append(SealFinding(reason, seal=here, at=at, where=where))

        if here != number + 1:
            missing = f"seal {number + 1} is missing" if here > number + 1 else "out of order"
            found(f"comes after seal {number}: {missing} ({record.label})")
        if seal["prev"] != digest:
            found(f"its prev does not match the digest of seal {number} (removed or altered)")
        public = keys.get(seal["key_id"])
        if seal["alg"] != ALGORITHM:
            found(f"signed with {seal['alg']!r}, not {ALGORITHM}")
        elif public is None:
            found(f"signed by key {seal['key_id']}, which is not a trusted seal key")
        elif not signature_valid(public, str(seal["sig"]), signed_part(seal)):
            found("its signature does not verify (the seal was altered or forged)")
        for chain, (seq, hash_) in seal["heads"].items():
            before = heads.get(chain)
            if before is not None and seq < before.seq:
                found(f"chain {chain}: sealed at seq {seq}, behind seq {before.seq} sealed before")
            heads[chain] = _Sealed(seq, hash_, here, at)
        replayed = {chain: (h.seq, h.hash) for chain, h in heads.items()}
        if merkle_root(replayed) != seal["root"]:
            found("the heads replayed up to it do not give its Merkle root")
        number, digest, last_at = here, seal_digest(seal), at
    return heads, count, last_at


def _trail_findings(sealed: dict[str, _Sealed]) -> list[SealFinding]:
    """Every last-sealed head must still be an intact event of its chain, not past its head."""
    findings = []
    now = audit_heads()
    # A sealed head released to the archive is checked by the archive's verification (its
    # chain links up across the boundary), not here: its event left the table.
    released = released_bounds()
    wanted = sorted(
        (chain, s)
        for chain, s in sealed.items()
        if s.seq > 0 and s.seq > released.get(chain, (0, ""))[0]
    )
    rows: dict[tuple, tuple] = {}
    for start in range(0, len(wanted), ANCHOR_BATCH):
        match = Q()
        for chain, s in wanted[start : start + ANCHOR_BATCH]:
            match |= Q(chain=chain, seq=s.seq)
        rows.update(
            ((row[0], row[1]), row)
            for row in AuditEvent.objects.filter(match).values_list(*_COLUMNS)
        )
    for chain, s in wanted:

        def found(reason: str, chain=chain, s=s) -> None:
            findings.append(SealFinding(reason, seal=s.seal, at=s.at, chain=chain, seq=s.seq))

        row = rows.get((chain, s.seq))
        head = now.get(chain)
        if head is None:
            found("the chain's head row is gone" + ("" if row else " and so is the sealed event"))
        elif head[0] < s.seq:
            found(f"the chain's head is at seq {head[0]}, behind the sealed seq (tail cut)")
        if row is None:
            if head is not None:
                found("the sealed event is missing")
        elif row[-1] != s.hash:
            found("the event no longer has the sealed hash (history rewritten)")
        elif event_hash(dict(zip(_COLUMNS, row, strict=True))) != s.hash:
            found("the event's contents no longer match the sealed hash")
    return findings


def seals_verify(*, sink=None) -> SealReport:
    """Check the seals among themselves, then the trail against the last sealed heads."""
    sink = sink or seal_sink()
    findings: list[SealFinding] = []
    sealed, count, last_at = _read_seals(sink, findings)
    findings += _trail_findings(sealed)
    return SealReport(sink.url, count, len(sealed), findings, last_at)


@dataclass(frozen=True)
class SealedVerifyResult:
    """The chain walk and the seal check together, for the command and the admin."""

    chains: VerifyResult
    seals: SealReport

    @property
    def ok(self) -> bool:
        return self.chains.ok and self.seals.ok

    def __str__(self) -> str:
        return f"{self.chains}\n{self.seals}"


def audit_verify_sealed(*, since_checkpoint=None, progress=None, sink=None) -> SealedVerifyResult:
    """Walk the chains (``compliance.verify``) and check them against the seals."""
    walk = audit_verify(since_checkpoint=since_checkpoint, progress=progress)
    return SealedVerifyResult(walk, seals_verify(sink=sink))
