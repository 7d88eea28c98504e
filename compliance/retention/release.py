"""``archive_release``: the archived month's rows leave the online tables ("moves").

Only a verified archive is released, in month order, while no legal hold covers it, and
only once every online row to release is found identical, field by field, to its archived
copy. The rows are then deleted past the kept-record protections, on this path only:

- SQLite: a raw DELETE (the ORM's guards are Python; SQLite has no triggers on the trail).
- PostgreSQL: the trail's trigger (``compliance_refuse_change``, migration 0019) lets a
  DELETE through only for the table's owner in a session with
  ``tradingsite.archive_release = on``. The runtime role holds no DELETE grant on the trail
  and is refused by the trigger even with the flag. With ``DATABASE_MIGRATION_URL`` set the
  release opens a connection of its own as the owner (:func:`owner_connection`); the
  deletion commits there first, then the run is marked released. A crash between the two
  leaves a run "archived" whose rows are gone: ``audit_verify`` reports the chains broken
  until ``archive_release`` is run again, which finds nothing left to delete and completes.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from compliance.models import AuditEvent
from compliance.retention.errors import ArchiveRefused, ArchiveTampered
from compliance.retention.holds import held_chains, held_objects
from compliance.retention.models import ArchiveRun, ArchiveStatus, RecordKind
from compliance.retention.tables import TABLES, columns
from compliance.retention.verify import archive_verify, archived_rows, manifest_read
from compliance.services import audit_record

ARCHIVE_PERMISSION = "compliance.archive_records"
RELEASE_FLAG = "tradingsite.archive_release"
RELEASE_SQL = "DELETE FROM compliance_auditevent WHERE chain = %s AND seq BETWEEN %s AND %s"


def _match(run: ArchiveRun) -> Q:
    match = Q(pk__in=[])
    for chain, (first, last, _hash) in run.bounds.items():
        match |= Q(chain=chain, seq__gte=first, seq__lte=last)
    return match


def release_refusals(run: ArchiveRun) -> list[str]:
    """Every reason ``run``'s online rows may not be released now (empty: they may)."""
    if run.kind != RecordKind.AUDIT_EVENTS:
        return [f"release of {run.kind} from the online tables is not built yet"]
    reasons = []
    if run.status != ArchiveStatus.ARCHIVED:
        reasons.append(f"archive run {run.pk} is {run.get_status_display().lower()}")
    earlier = ArchiveRun.objects.filter(
        kind=run.kind, month__lt=run.month, status=ArchiveStatus.ARCHIVED
    ).order_by("month")
    if earlier:
        reasons.append(f"release {earlier[0].month:%Y-%m} first (archive run {earlier[0].pk})")
    reasons += [
        f"chain {chain} is under {hold.described}"
        for chain, hold in sorted(held_chains().items())
        if chain in run.bounds
    ]
    online = AuditEvent.objects.filter(_match(run))
    for (object_type, object_id), hold in sorted(held_objects().items()):
        if online.filter(object_type=object_type, object_id=object_id).exists():
            reasons.append(f"events about {object_type} {object_id} are under {hold.described}")
    return reasons


def _compare_online(run: ArchiveRun, manifest: dict) -> int:
    """How many online rows remain to release; each must equal its archived copy."""
    remaining = 0
    for entry in manifest["files"]:
        table = next(t for t in TABLES[run.kind] if t.name == entry["table"])
        names = [f.attname for f in columns(table.model)]
        online = table.model.objects.filter(_match(run)).order_by(*table.key).values(*names)
        archived = archived_rows(run, entry)
        count = 0
        for row in online.iterator(chunk_size=5000):
            count += 1
            copy = next(archived, None)
            while copy is not None and tuple(copy[k] for k in table.key) < tuple(
                row[k] for k in table.key
            ):
                copy = next(archived, None)  # released already (a resumed release)
            if copy != row:
                key = ":".join(str(row[k]) for k in table.key)
                raise ArchiveTampered(
                    f"{entry['table']} row {key} differs from its copy in {entry['name']}: "
                    "not released"
                )
        remaining += count
    return remaining


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


def _delete_sql(run: ArchiveRun) -> list[tuple[str, list]]:
    return [
        (RELEASE_SQL, [chain, first, last])
        for chain, (first, last, _hash) in sorted(run.bounds.items())
    ]


def _delete_as_owner(run: ArchiveRun) -> None:
    with owner_connection() as link, link, link.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, 'on', true)", [RELEASE_FLAG])
        for sql, params in _delete_sql(run):
            cursor.execute(sql, params)


def archive_release(*, run: ArchiveRun, actor: AbstractBaseUser) -> ArchiveRun:
    """Release ``run``'s online rows once its archive verifies; the run becomes released."""
    if not actor.is_active or not actor.has_perm(ARCHIVE_PERMISSION):
        raise ArchiveRefused(f"{actor.get_username()} may not release an archive")
    archive_verify(run=run)
    manifest = manifest_read(run)
    reasons = release_refusals(run)
    if reasons:
        raise ArchiveRefused(f"archive run {run.pk} not released: " + "; ".join(reasons))
    remaining = _compare_online(run, manifest)
    separate_owner = connection.vendor == "postgresql" and bool(settings.DATABASE_MIGRATION_URL)
    if separate_owner:
        if connection.in_atomic_block:  # the owner's session would not see this one's rows
            raise ArchiveRefused(
                f"archive run {run.pk} not released: on PostgreSQL the release deletes as the "
                "schema owner in a session of its own, so it runs outside any transaction"
            )
        _delete_as_owner(run)
    with transaction.atomic():
        locked = ArchiveRun.objects.select_for_update(of=("self",)).get(pk=run.pk)
        if locked.status != ArchiveStatus.ARCHIVED:
            raise ArchiveRefused(f"archive run {locked.pk} is {locked.get_status_display()}")
        if not separate_owner:
            with connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    cursor.execute("SELECT set_config(%s, 'on', true)", [RELEASE_FLAG])
                for sql, params in _delete_sql(locked):
                    cursor.execute(sql, params)
        left = AuditEvent.objects.filter(_match(locked)).count()
        if left:
            raise ArchiveRefused(f"archive run {locked.pk}: {left} online rows were not released")
        locked.status, locked.online_released_at = ArchiveStatus.RELEASED, timezone.now()
        locked.save(update_fields=["status", "online_released_at"])
        audit_record(action="archive.released", obj=locked, actor=actor,
                     after={"rows": remaining, "bounds": locked.bounds})  # fmt: skip
    return locked
