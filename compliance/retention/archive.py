"""``archive_month``: one month of one record kind to Parquet files and a manifest.

The month's rows are streamed in key order into one Parquet file per table (row groups of
``CHUNK_ROWS``, so memory stays constant), written first to a local temporary file and
hashed, then saved to the ``archive`` storage under ``<kind>/<YYYY-MM>/<run token>/``. A
manifest (JSON) names each file with its sha256, rows and key range, and holds the policy,
every audit chain's head and the latest audit seal at the time; its sha256 is kept on the
:class:`ArchiveRun`. Nothing is locked while files are written.

Kinds whose rows point at files kept elsewhere (KYC documents, contract notes' PDF, CSV and
JSON) list those files in the manifest as ``referenced``, each with the sha256 its row
records; a month is refused while one of them no longer matches, and ``archive_verify``
re-hashes them.

Audit events are archived as a prefix of each chain: from the last archived seq of the
chain to its last event that occurred before the month ended (clock skew cannot leave a
hole). A month is refused while its online window lasts, while an earlier month of the
kind is still unarchived, and while a legal hold covers any of its rows.
"""

import datetime as dt
import hashlib
import io
import json
import tempfile
import uuid
from pathlib import Path

import pyarrow.parquet as pq
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.files import File
from django.core.files.storage import storages
from django.db import IntegrityError, transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from compliance.models import AuditChain, AuditEvent
from compliance.retention.errors import ArchiveRefused
from compliance.retention.holds import held_chains, held_objects
from compliance.retention.models import ArchiveRun, RecordKind, RetentionPolicy, month_after
from compliance.retention.orders import kind_floor, ledger_selection, orders_selection
from compliance.retention.records import (
    contract_note_referenced,
    contract_note_selection,
    kyc_referenced,
    kyc_selection,
)
from compliance.retention.tables import TABLES, arrow_schema, batches, columns, stored_columns
from compliance.retention.verify import referenced_mismatch
from compliance.services import audit_record
from marketdata.calendar import IST

ARCHIVE_PERMISSION = "compliance.archive_records"
CHUNK_ROWS = 10_000
MANIFEST_VERSION = 1
STORAGE = "archive"

#: Per kind other than the audit trail: the month's rows per table and every reason they
#: may not be archived, as ``select(month, start, end, floor)``.
SELECTIONS = {
    RecordKind.ORDERS: orders_selection,
    RecordKind.LEDGER: ledger_selection,
    RecordKind.KYC: kyc_selection,
    RecordKind.CONTRACT_NOTES: contract_note_selection,
}
#: Per kind whose rows point at files in other storages: those files of the month's rows
#: (storage, name, sha256, whose), as ``referenced(selected)``.
REFERENCED = {
    RecordKind.KYC: kyc_referenced,
    RecordKind.CONTRACT_NOTES: contract_note_referenced,
}


def archive_storage():
    return storages[STORAGE]


def month_start(month: dt.date | str) -> dt.date:
    """``month`` (a date or ``YYYY-MM``) as the first day of its month."""
    if isinstance(month, str):
        try:
            year, number = (int(part) for part in month.split("-"))
            return dt.date(year, number, 1)
        except ValueError:
            raise ArchiveRefused(f"{month!r} is not a month: give it as YYYY-MM") from None
    return month.replace(day=1)


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The month's first and following instants: calendar months in IST, as the books are."""
    start = dt.datetime.combine(month, dt.time(), tzinfo=IST)
    return start, dt.datetime.combine(month_after(month), dt.time(), tzinfo=IST)


def archived_bounds() -> dict[str, tuple[int, str]]:
    """Per audit chain, the last seq and hash archived by any run so far."""
    bounds: dict[str, tuple[int, str]] = {}
    for run in ArchiveRun.objects.filter(kind=RecordKind.AUDIT_EVENTS).only("bounds"):
        for chain, (_first, last, last_hash) in run.bounds.items():
            if last > bounds.get(chain, (0, ""))[0]:
                bounds[chain] = (last, last_hash)
    return bounds


def _after(bounds: dict[str, tuple[int, str]]) -> Q:
    """Audit events not yet archived."""
    if not bounds:
        return Q()
    match = ~Q(chain__in=list(bounds))
    for chain, (seq, _) in bounds.items():
        match |= Q(chain=chain, seq__gt=seq)
    return match


def _chain_ranges(month: dt.date) -> dict[str, tuple[int, int]]:
    """Per chain, the seq range (first, last) of the events the month archives."""
    start, end = month_bounds(month)
    pending = AuditEvent.objects.filter(_after(archived_bounds()))
    earlier = pending.filter(occurred_at__lt=start).aggregate(at=Min("occurred_at"))["at"]
    if earlier is not None:
        raise ArchiveRefused(
            f"audit events of {earlier.astimezone(IST):%Y-%m} are not archived yet: archive "
            "that month first"
        )
    last = dict(
        pending.filter(occurred_at__lt=end)
        .values("chain")
        .annotate(last=Max("seq"))
        .values_list("chain", "last")
    )
    first = dict(
        pending.filter(chain__in=list(last))
        .values("chain")
        .annotate(first=Min("seq"))
        .values_list("chain", "first")
    )
    return {chain: (first[chain], last[chain]) for chain in sorted(last)}


def archive_refusals(*, kind: str, month: dt.date, today: dt.date | None = None) -> list[str]:
    """Every reason ``month`` of ``kind`` may not be archived now (empty: it may)."""
    today = today or timezone.now().date()
    reasons = []
    if kind not in TABLES:
        return [f"archival of {kind} is not built yet (only {', '.join(TABLES)})"]
    policy = RetentionPolicy.objects.filter(kind=kind).first()
    if policy is None:
        return [f"no retention policy for {kind}"]
    if today < policy.archivable_from(month):
        reasons.append(
            f"{month:%Y-%m} is inside the online window of {policy.online_months} months: "
            f"it may be archived from {policy.archivable_from(month)}"
        )
    if ArchiveRun.objects.filter(kind=kind, month=month).exists():
        reasons.append(f"{kind} of {month:%Y-%m} is archived already")
    return reasons


def _in_ranges(ranges: dict[str, tuple[int, int]]) -> Q:
    """The audit events of ``ranges`` (chain -> first and last seq)."""
    match = Q(pk__in=[])
    for chain, (first, last) in ranges.items():
        match |= Q(chain=chain, seq__gte=first, seq__lte=last)
    return match


def _hold_refusals(ranges: dict[str, tuple[int, int]]) -> list[str]:
    """A hold covers a chain (its client's account) or the events about a held object."""
    reasons = [
        f"chain {chain} is under {hold.described}"
        for chain, hold in sorted(held_chains().items())
        if chain in ranges
    ]
    events = AuditEvent.objects.filter(_in_ranges(ranges))
    for (object_type, object_id), hold in sorted(held_objects().items()):
        if events.filter(object_type=object_type, object_id=object_id).exists():
            reasons.append(f"events about {object_type} {object_id} are under {hold.described}")
    return reasons


def _write_parquet(table, queryset, path: Path) -> dict:
    """Stream ``queryset`` (in key order) into a Parquet file; its entry in the manifest."""
    model = table.model
    names = [f.attname for f in columns(model)]
    stored = queryset.values_list(*stored_columns(model)).iterator(CHUNK_ROWS)
    rows, first, last = 0, None, None
    with pq.ParquetWriter(path, arrow_schema(model), compression="zstd") as writer:
        for batch in batches(model, stored, CHUNK_ROWS):
            writer.write_batch(batch, row_group_size=CHUNK_ROWS)
            keys = [batch.column(names.index(k)) for k in table.key]
            if first is None:
                first = ":".join(str(k[0].as_py()) for k in keys)
            last = ":".join(str(k[-1].as_py()) for k in keys)
            rows += batch.num_rows
    return {"table": table.name, "rows": rows, "key_first": first or "", "key_last": last or ""}


def file_sha256(handle) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


def _latest_seal() -> dict:
    from compliance.seal_sinks import seal_sink
    from compliance.seals import seals_replay

    state = seals_replay(seal_sink())
    return {"number": state.number, "digest": state.digest}


def archive_month(
    *, kind: str, month: dt.date | str, actor: AbstractBaseUser, today: dt.date | None = None
) -> ArchiveRun:
    """Archive ``month`` of ``kind``; refuses (ArchiveRefused, every reason) a month inside
    its online window, already archived, out of order, or under a legal hold."""
    if not actor.is_active or not actor.has_perm(ARCHIVE_PERMISSION):
        raise ArchiveRefused(
            f"{actor.get_username()} may not archive records (needs {ARCHIVE_PERMISSION})"
        )
    month = month_start(month)
    reasons = archive_refusals(kind=kind, month=month, today=today)
    if reasons:
        raise ArchiveRefused(f"{kind} of {month:%Y-%m} not archived: " + "; ".join(reasons))
    start, end = month_bounds(month)
    ranges: dict[str, tuple[int, int]] = {}
    if kind == RecordKind.AUDIT_EVENTS:
        ranges = _chain_ranges(month)
        reasons = _hold_refusals(ranges)
        match = _in_ranges(ranges)
        selected = {t.name: t.model.objects.filter(match) for t in TABLES[kind]}
    else:
        selected, reasons = SELECTIONS[kind](month, start, end, kind_floor(kind, month_bounds))
    if reasons:
        raise ArchiveRefused(f"{kind} of {month:%Y-%m} not archived: " + "; ".join(reasons))
    if not any(queryset.exists() for queryset in selected.values()):
        raise ArchiveRefused(f"{kind} of {month:%Y-%m} not archived: it has no records")
    referenced = REFERENCED[kind](selected) if kind in REFERENCED else []
    reasons = [problem for entry in referenced if (problem := referenced_mismatch(entry))]
    if reasons:
        raise ArchiveRefused(f"{kind} of {month:%Y-%m} not archived: " + "; ".join(reasons))

    policy = RetentionPolicy.objects.get(kind=kind)
    heads = {c.key: [c.seq, c.hash] for c in AuditChain.objects.all()}
    seal = _latest_seal()
    prefix = f"{kind}/{month:%Y-%m}/{uuid.uuid4().hex[:12]}/"
    storage = archive_storage()
    files = []
    with tempfile.TemporaryDirectory(prefix="archive-") as workdir:
        for table in TABLES[kind]:
            local = Path(workdir) / f"{table.name}.parquet"
            queryset = selected[table.name].order_by(*table.key)
            entry = _write_parquet(table, queryset, local)
            with local.open("rb") as handle:
                entry["sha256"] = file_sha256(handle)
                handle.seek(0)
                entry["bytes"] = local.stat().st_size
                entry["name"] = storage.save(prefix + local.name, File(handle))
            files.append(entry)
    bounds = {}
    for chain, (first, last) in ranges.items():
        last_hash = AuditEvent.objects.get(chain=chain, seq=last).hash
        bounds[chain] = [first, last, last_hash]
    rows = sum(f["rows"] for f in files)
    manifest = {
        "v": MANIFEST_VERSION,
        "kind": kind,
        "month": f"{month:%Y-%m}",
        "policy": {
            "retention_years": policy.retention_years,
            "online_months": policy.online_months,
        },
        "created_at": timezone.now().isoformat(timespec="microseconds"),
        "files": files,
        "referenced": referenced,
        "rows": rows,
        "bounds": bounds,
        "heads": heads,
        "seal": seal,
    }
    text = json.dumps(manifest, sort_keys=True, indent=1).encode()
    manifest_name = storage.save(prefix + "manifest.json", File(_bytes_file(text)))
    try:
        with transaction.atomic():
            run = ArchiveRun.objects.create(
                kind=kind,
                month=month,
                storage=STORAGE,
                prefix=prefix,
                manifest_name=manifest_name,
                manifest_sha256=hashlib.sha256(text).hexdigest(),
                rows=rows,
                key_first=files[0]["key_first"],
                key_last=files[0]["key_last"],
                bounds=bounds,
                seal=seal,
                requested_by=actor,
            )
            audit_record(
                action="archive.created",
                obj=run,
                actor=actor,
                after={"kind": kind, "month": f"{month:%Y-%m}", "rows": rows,
                       "manifest": manifest_name, "manifest_sha256": run.manifest_sha256},
            )  # fmt: skip
    except IntegrityError:
        raise ArchiveRefused(f"{kind} of {month:%Y-%m} is archived already") from None
    return run


def _bytes_file(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)
