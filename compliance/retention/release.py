"""``archive_release``: the archived month's rows leave the online tables ("moves").

Only a verified archive is released, in month order, while no legal hold covers it, and
only once every online row to release is found identical, field by field, to its archived
copy. Audit events are released by their chains' seq ranges; orders (with their fills,
ledger entries and outbox rows) and ledger entries by the keys the archive holds. The
ledger entries released are summed per account into ``orders.LedgerCarryForward`` rows in
the same transaction as their deletion, so an account's cash is still the sum of its
ledger and a later statement's opening balance is still exact. The rows are then deleted
past the kept-record protections, on this path only:

- SQLite: a raw DELETE (the ORM's guards are Python; SQLite has no triggers).
- PostgreSQL: the tables' triggers (``compliance_refuse_change`` on the trail, migration
  0019; ``tradingsite_refuse_delete_unless_released`` on the orders tables, orders 0010)
  let a DELETE through only for the table's owner in a session with
  ``tradingsite.archive_release = on``. The runtime role is refused by the triggers even
  with the flag. With ``DATABASE_MIGRATION_URL`` set the release opens a connection of its
  own as the owner (:func:`owner_connection`); the deletion (and the carry-forward) commits
  there first, then the run is marked released. A crash between the two leaves a run
  "archived" whose rows are gone: ``archive_release`` run again finds nothing left to
  delete and completes.
- A row that is not in the archive but refers to one that is (a ledger entry posted for an
  archived order after the archive) stops the release: nothing is deleted.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

import pyarrow.parquet as pq
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.files.storage import storages
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from compliance.models import AuditEvent
from compliance.reports.registers.common import batched
from compliance.retention.errors import ArchiveRefused, ArchiveTampered
from compliance.retention.holds import held_chains, held_clients, held_objects
from compliance.retention.models import ArchiveRun, ArchiveStatus, RecordKind
from compliance.retention.tables import TABLES, ArchivedTable, columns
from compliance.retention.verify import archive_verify, archived_rows, manifest_read
from compliance.services import audit_record

ARCHIVE_PERMISSION = "compliance.archive_records"
RELEASE_FLAG = "tradingsite.archive_release"
RELEASE_SQL = "DELETE FROM compliance_auditevent WHERE chain = %s AND seq BETWEEN %s AND %s"
CARRY_SQL = (
    "INSERT INTO orders_ledgercarryforward (archive_run_id, account_id, amount, entries, "
    "first_posted_at, last_posted_at, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
#: The kinds whose rows leave the online tables once archived.
RELEASED = (RecordKind.AUDIT_EVENTS, RecordKind.ORDERS, RecordKind.LEDGER)
CHUNK = 5000


@dataclass
class Carried:
    """The released ledger entries of one account: their sum, count and posting span."""

    amount: Decimal
    entries: int
    first: object
    last: object


def _match(run: ArchiveRun) -> Q:
    match = Q(pk__in=[])
    for chain, (first, last, _hash) in run.bounds.items():
        match |= Q(chain=chain, seq__gte=first, seq__lte=last)
    return match


def _table(run: ArchiveRun, entry: dict) -> ArchivedTable:
    return next(t for t in TABLES[run.kind] if t.name == entry["table"])


def _archived_column(run: ArchiveRun, entry: dict, column: str) -> Iterator[list]:
    """One column of an archived file, in chunks of :data:`CHUNK` values."""
    with storages[run.storage].open(entry["name"], "rb") as handle:
        for batch in pq.ParquetFile(handle).iter_batches(batch_size=CHUNK, columns=[column]):
            yield batch.column(0).to_pylist()


def _held_refusals(run: ArchiveRun, manifest: dict) -> list[str]:
    """The legal holds covering rows of ``run`` still online."""
    if run.kind == RecordKind.AUDIT_EVENTS:
        reasons = [
            f"chain {chain} is under {hold.described}"
            for chain, hold in sorted(held_chains().items())
            if chain in run.bounds
        ]
        online = AuditEvent.objects.filter(_match(run))
        for (object_type, object_id), hold in sorted(held_objects().items()):
            if online.filter(object_type=object_type, object_id=object_id).exists():
                reasons.append(f"events about {object_type} {object_id} are under {hold.described}")
        return reasons
    from orders.models import TradingAccount

    held = held_clients()
    if not held:
        return []
    accounts: set[int] = set()
    for entry in manifest["files"]:
        if "account_id" in {f.attname for f in columns(_table(run, entry).model)}:
            for chunk in _archived_column(run, entry, "account_id"):
                accounts.update(chunk)
    clients = TradingAccount.objects.filter(pk__in=accounts, client_id__in=list(held))
    return [
        f"{run.get_kind_display().lower()} of client {client_id} are under "
        f"{held[client_id].described}"
        for client_id in sorted(set(clients.values_list("client_id", flat=True)))
    ]


def release_refusals(run: ArchiveRun, manifest: dict | None = None) -> list[str]:
    """Every reason ``run``'s online rows may not be released now (empty: they may)."""
    if run.kind not in RELEASED:
        return [f"release of {run.kind} from the online tables is not built yet"]
    reasons = []
    if run.status != ArchiveStatus.ARCHIVED:
        reasons.append(f"archive run {run.pk} is {run.get_status_display().lower()}")
    earlier = ArchiveRun.objects.filter(
        kind=run.kind, month__lt=run.month, status=ArchiveStatus.ARCHIVED
    ).order_by("month")
    if earlier:
        reasons.append(f"release {earlier[0].month:%Y-%m} first (archive run {earlier[0].pk})")
    return reasons + _held_refusals(run, manifest or manifest_read(run))


def _differs(entry: dict, table: ArchivedTable, row: dict) -> ArchiveTampered:
    key = ":".join(str(row[k]) for k in table.key)
    return ArchiveTampered(
        f"{entry['table']} row {key} differs from its copy in {entry['name']}: not released"
    )


def _compare_chains(run: ArchiveRun, entry: dict, table: ArchivedTable) -> int:
    """The audit events of the run still online, each equal to its archived copy."""
    names = [f.attname for f in columns(table.model)]
    online = table.model.objects.filter(_match(run)).order_by(*table.key).values(*names)
    archived = archived_rows(run, entry)
    count = 0
    for row in online.iterator(chunk_size=CHUNK):
        count += 1
        copy = next(archived, None)
        while copy is not None and tuple(copy[k] for k in table.key) < tuple(
            row[k] for k in table.key
        ):
            copy = next(archived, None)  # released already (a resumed release)
        if copy != row:
            raise _differs(entry, table, row)
    return count


def _compare_keyed(
    run: ArchiveRun, entry: dict, table: ArchivedTable, carried: dict[int, Carried]
) -> int:
    """The archived rows still online, each equal to its copy; ledger entries summed into
    ``carried`` per account."""
    from orders.models import LedgerEntry

    names = [f.attname for f in columns(table.model)]
    count = 0
    for chunk in batched(archived_rows(run, entry), CHUNK):
        found = table.model.objects.filter(pk__in=[copy["id"] for copy in chunk]).values(*names)
        online = {row["id"]: row for row in found}
        for copy in chunk:
            row = online.get(copy["id"])
            if row is None:
                continue  # released already (a resumed release)
            if row != copy:
                raise _differs(entry, table, row)
            count += 1
            if table.model is LedgerEntry:
                account = carried.get(row["account_id"])
                at = row["posted_at"]
                if account is None:
                    carried[row["account_id"]] = Carried(row["amount"], 1, at, at)
                else:
                    account.amount += row["amount"]
                    account.entries += 1
                    account.first, account.last = min(account.first, at), max(account.last, at)
    return count


def _compare_online(run: ArchiveRun, manifest: dict) -> tuple[int, dict[int, Carried]]:
    """How many online rows remain to release (each equal to its archived copy), and the
    ledger carried forward per account."""
    remaining, carried = 0, {}
    for entry in manifest["files"]:
        table = _table(run, entry)
        if run.kind == RecordKind.AUDIT_EVENTS:
            remaining += _compare_chains(run, entry, table)
        else:
            remaining += _compare_keyed(run, entry, table, carried)
    return remaining, carried


#: Each archived file's entry with its ids in chunks, read before any transaction opens.
ArchivedIds = list[tuple[dict, list[list]]]


def _archived_ids(run: ArchiveRun, manifest: dict) -> ArchivedIds:
    """The ids each archived file holds (none for audit events, released by seq range),
    read from the archive storage once, before any lock is taken or transaction opened:
    on S3 these are network reads."""
    if run.kind == RecordKind.AUDIT_EVENTS:
        return []
    return [(entry, list(_archived_column(run, entry, "id"))) for entry in manifest["files"]]


def _online_left(run: ArchiveRun, archived: ArchivedIds) -> int:
    if run.kind == RecordKind.AUDIT_EVENTS:
        return AuditEvent.objects.filter(_match(run)).count()
    left = 0
    for entry, chunks in archived:
        model = _table(run, entry).model
        for ids in chunks:
            left += model.objects.filter(pk__in=ids).count()
    return left


@contextmanager
def owner_connection() -> Iterator:
    """A psycopg2 connection as the schema owner (DATABASE_MIGRATION_URL) to the database
    this process uses (in tests, the test database), closed on leaving."""
    import psycopg2

    owner = settings.DATABASE_OWNER_LOGIN
    params = {
        "dbname": connection.settings_dict["NAME"],
        "user": owner["USER"],
        "host": owner["HOST"] or None,
        "port": owner["PORT"] or None,
        "password": owner["PASSWORD"] or None,
    }
    link = psycopg2.connect(**{k: v for k, v in params.items() if v is not None})
    try:
        yield link
    finally:
        link.close()


def _delete_sql(run: ArchiveRun, archived: ArchivedIds) -> Iterator[tuple[str, list]]:
    """The DELETEs of the release: by chain range, or by archived key, children first
    (the files are in parent-first order: orders, fills, ledger entries, outbox, paper)."""
    if run.kind == RecordKind.AUDIT_EVENTS:
        for chain, (first, last, _hash) in sorted(run.bounds.items()):
            yield RELEASE_SQL, [chain, first, last]
        return
    for entry, chunks in reversed(archived):
        name = _table(run, entry).name  # the model's table, not the manifest's text
        for ids in chunks:
            yield f"DELETE FROM {name} WHERE id IN ({', '.join(['%s'] * len(ids))})", ids  # noqa: S608


def _carry_params(run: ArchiveRun, carried: dict[int, Carried]) -> list[list]:
    now = timezone.now()
    return [
        [run.pk, account_id, c.amount, c.entries, c.first, c.last, now]
        for account_id, c in sorted(carried.items())
    ]


def _refused_by_reference(run: ArchiveRun, error: Exception) -> ArchiveRefused:
    return ArchiveRefused(
        f"archive run {run.pk} not released: online rows not in the archive still refer to "
        f"rows it holds ({str(error).strip().splitlines()[0]}); nothing was deleted"
    )


def _delete_as_owner(run: ArchiveRun, archived: ArchivedIds, carried: dict[int, Carried]) -> None:
    import psycopg2

    try:
        with owner_connection() as link, link, link.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, 'on', true)", [RELEASE_FLAG])
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # a dangling reference fails here
            for params in _carry_params(run, carried):
                cursor.execute(CARRY_SQL, params)
            for sql, params in _delete_sql(run, archived):
                cursor.execute(sql, params)
    except psycopg2.IntegrityError as error:
        raise _refused_by_reference(run, error) from None


def _delete_here(run: ArchiveRun, archived: ArchivedIds, carried: dict[int, Carried]) -> None:
    """The release in this connection's transaction (SQLite, or no separate owner login)."""
    from orders.models import LedgerCarryForward

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            LedgerCarryForward.objects.bulk_create(
                LedgerCarryForward(
                    archive_run_id=run_id, account_id=account_id, amount=amount,
                    entries=entries, first_posted_at=first, last_posted_at=last,
                )
                for run_id, account_id, amount, entries, first, last, _ in _carry_params(
                    run, carried
                )
            )  # fmt: skip
            if connection.vendor == "postgresql":
                cursor.execute("SELECT set_config(%s, 'on', true)", [RELEASE_FLAG])
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for sql, params in _delete_sql(run, archived):
                cursor.execute(sql, params)
            if connection.vendor == "sqlite":  # its foreign keys are checked at COMMIT
                for entry, _chunks in archived:
                    cursor.execute(f"PRAGMA foreign_key_check({_table(run, entry).name})")
                    if dangling := cursor.fetchone():
                        raise IntegrityError(f"{dangling[0]} row {dangling[1]} refers to it")
    except IntegrityError as error:
        raise _refused_by_reference(run, error) from None


def archive_release(*, run: ArchiveRun, actor: AbstractBaseUser) -> ArchiveRun:
    """Release ``run``'s online rows once its archive verifies; the run becomes released."""
    if not actor.is_active or not actor.has_perm(ARCHIVE_PERMISSION):
        raise ArchiveRefused(f"{actor.get_username()} may not release an archive")
    if run.kind not in RELEASED:
        raise ArchiveRefused(f"archive run {run.pk} not released: " + release_refusals(run)[0])
    archive_verify(run=run)
    manifest = manifest_read(run)
    reasons = release_refusals(run, manifest)
    if reasons:
        raise ArchiveRefused(f"archive run {run.pk} not released: " + "; ".join(reasons))
    remaining, carried = _compare_online(run, manifest)
    archived = _archived_ids(run, manifest)  # storage reads: before any transaction
    separate_owner = connection.vendor == "postgresql" and bool(settings.DATABASE_MIGRATION_URL)
    if separate_owner:
        if connection.in_atomic_block:  # the owner's session would not see this one's rows
            raise ArchiveRefused(
                f"archive run {run.pk} not released: on PostgreSQL the release deletes as the "
                "schema owner in a session of its own, so it runs outside any transaction"
            )
        _delete_as_owner(run, archived, carried)
    with transaction.atomic():
        locked = ArchiveRun.objects.select_for_update(of=("self",)).get(pk=run.pk)
        if locked.status != ArchiveStatus.ARCHIVED:
            raise ArchiveRefused(f"archive run {locked.pk} is {locked.get_status_display()}")
        if not separate_owner:
            _delete_here(locked, archived, carried)
        left = _online_left(locked, archived)
        if left:
            raise ArchiveRefused(f"archive run {locked.pk}: {left} online rows were not released")
        locked.status, locked.online_released_at = ArchiveStatus.RELEASED, timezone.now()
        locked.save(update_fields=["status", "online_released_at"])
        carried_forward = {str(a): str(c.amount) for a, c in sorted(carried.items())}
        after = {"rows": remaining, "bounds": locked.bounds, "carried_forward": carried_forward}
        audit_record(action="archive.released", obj=locked, actor=actor, after=after)
    return locked
