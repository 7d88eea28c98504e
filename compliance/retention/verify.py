"""``archive_verify``: an archive still holds what was archived, and its chains link up.

The manifest is re-hashed against the sha256 kept on the run, then every file against the
manifest (a mismatch is refused, naming the file), and every file's rows are counted. For
audit events each chain's archived links are recomputed: each event's hash, each
``prev_hash`` naming the event before, the first linking to the event before the archive
(genesis, the previous archive's last, or the online event) and the online event after
the archive's last linking to it. The files the archived rows point at in other storages
(the manifest's ``referenced``: KYC documents, contract notes' PDF, CSV and JSON) are
re-hashed against the sha256 their rows record.
"""

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow.parquet as pq
from django.core.files.storage import storages

from compliance.chain import GENESIS_HASH, stored_event_hash
from compliance.models import AuditEvent
from compliance.retention.errors import ArchiveTampered
from compliance.retention.models import ArchiveRun, RecordKind
from compliance.retention.tables import TABLES, rows_from_batch


@dataclass(frozen=True)
class ArchiveReport:
    run_id: int
    files: int
    rows: int
    referenced: int = 0

    def __str__(self) -> str:
        also = f"; {self.referenced} referenced files match" if self.referenced else ""
        return (
            f"Archive run {self.run_id} intact: {self.files} files, {self.rows:,} rows "
            f"verified{also}."
        )


def manifest_read(run: ArchiveRun) -> dict:
    """The run's manifest, refused (naming it) unless its sha256 is the one recorded."""
    storage = storages[run.storage]
    try:
        with storage.open(run.manifest_name, "rb") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ArchiveTampered(f"manifest {run.manifest_name} is missing") from None
    if hashlib.sha256(text).hexdigest() != run.manifest_sha256:
        raise ArchiveTampered(
            f"manifest {run.manifest_name} does not match the sha256 recorded on archive run "
            f"{run.pk}: refused"
        )
    manifest = json.loads(text)
    if (manifest["kind"], manifest["month"]) != (run.kind, f"{run.month:%Y-%m}") or manifest[
        "bounds"
    ] != run.bounds:
        raise ArchiveTampered(f"manifest {run.manifest_name} is not archive run {run.pk}'s")
    return manifest


def _sha256(storage, name: str) -> str | None:
    """The sha256 of the stored file ``name``; None if it is missing."""
    digest = hashlib.sha256()
    try:
        with storage.open(name, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except FileNotFoundError:
        return None
    return digest.hexdigest()


def check_file(storage, entry: dict) -> None:
    digest = _sha256(storage, entry["name"])
    if digest is None:
        raise ArchiveTampered(f"archive file {entry['name']} is missing")
    if digest != entry["sha256"]:
        raise ArchiveTampered(
            f"archive file {entry['name']} does not match its sha256 in the manifest: refused"
        )


def referenced_mismatch(entry: dict) -> str:
    """Why a file the archived rows point at (``storage``, ``name``, ``sha256``, ``of``)
    no longer matches its sha256; empty when it does."""
    where = f"{entry['of']}: file {entry['name']} in storage {entry['storage']}"
    digest = _sha256(storages[entry["storage"]], entry["name"])
    if digest is None:
        return f"{where} is missing"
    if digest != entry["sha256"]:
        return f"{where} does not match its sha256"
    return ""


def archived_rows(run: ArchiveRun, entry: dict) -> Iterator[dict]:
    """The rows of one archived file, in key order (the file is not re-hashed here)."""
    table = next(t for t in TABLES[run.kind] if t.name == entry["table"])
    with storages[run.storage].open(entry["name"], "rb") as handle:
        parquet = pq.ParquetFile(handle)
        for batch in parquet.iter_batches():
            yield from rows_from_batch(table.model, batch)


def _link_before(run: ArchiveRun, chain: str, first: int) -> str:
    """The hash the chain's first archived event must name as its prev_hash."""
    if first == 1:
        return GENESIS_HASH
    for other in ArchiveRun.objects.filter(kind=run.kind).exclude(pk=run.pk):
        bound = other.bounds.get(chain)
        if bound and bound[1] == first - 1:
            return bound[2]
    online = AuditEvent.objects.filter(chain=chain, seq=first - 1).values_list("hash", flat=True)
    if online:
        return online[0]
    raise ArchiveTampered(f"archive run {run.pk}: chain {chain} has no event {first - 1} before it")


def _check_chains(run: ArchiveRun, entry: dict, manifest: dict) -> None:
    name, bounds = entry["name"], manifest["bounds"]
    chain, seq, prev = None, 0, ""
    for row in archived_rows(run, entry):
        if row["chain"] != chain:
            if chain is not None and [seq, prev] != bounds[chain][1:]:
                raise ArchiveTampered(f"archive file {name}: chain {chain} ends at seq {seq}")
            chain = row["chain"]
            if chain not in bounds:
                raise ArchiveTampered(f"archive file {name}: chain {chain} is not in the manifest")
            seq, prev = bounds[chain][0] - 1, _link_before(run, chain, bounds[chain][0])
        if row["seq"] != seq + 1 or row["prev_hash"] != prev:
            raise ArchiveTampered(
                f"archive file {name}: chain {chain} at seq {seq + 1} does not link to seq {seq}"
            )
        if stored_event_hash(row) != row["hash"]:
            raise ArchiveTampered(
                f"archive file {name}: chain {chain} at seq {row['seq']}: the hash does not "
                "match the event's contents"
            )
        seq, prev = row["seq"], row["hash"]
    if chain is not None and [seq, prev] != bounds[chain][1:]:
        raise ArchiveTampered(f"archive file {name}: chain {chain} ends at seq {seq}")
    for chain, (_first, last, last_hash) in bounds.items():
        after = AuditEvent.objects.filter(chain=chain, seq=last + 1).values_list(
            "prev_hash", flat=True
        )
        if after and after[0] != last_hash:
            raise ArchiveTampered(
                f"archive run {run.pk}: the online event {last + 1} of chain {chain} does not "
                "link to the archive's last event"
            )


def archive_verify(*, run: ArchiveRun) -> ArchiveReport:
    """Verify ``run``'s archive; raises ArchiveTampered naming the first file that fails."""
    manifest = manifest_read(run)
    storage = storages[run.storage]
    rows = 0
    for entry in manifest["files"]:
        check_file(storage, entry)
        counted = sum(1 for _ in archived_rows(run, entry))
        if counted != entry["rows"]:
            raise ArchiveTampered(
                f"archive file {entry['name']} holds {counted} rows, the manifest says "
                f"{entry['rows']}"
            )
        if run.kind == RecordKind.AUDIT_EVENTS:
            _check_chains(run, entry, manifest)
        rows += counted
    if rows != run.rows:
        raise ArchiveTampered(f"archive run {run.pk} holds {rows} rows, {run.rows} were archived")
    referenced = manifest.get("referenced", [])  # absent from manifests made before it
    for entry in referenced:
        if problem := referenced_mismatch(entry):
            raise ArchiveTampered(f"archive run {run.pk}: {problem}")
    return ArchiveReport(
        run_id=run.pk, files=len(manifest["files"]), rows=rows, referenced=len(referenced)
    )
