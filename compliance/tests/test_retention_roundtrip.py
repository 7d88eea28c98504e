"""Archive, release (delete online) and restore: the restored rows are the online ones, field
by field; the audit trail still verifies across the boundary; purges need two officers."""

import datetime as dt
import os
import sqlite3
import stat

import pytest
import time_machine
from django.conf import settings
from django.db import DatabaseError, connection

from compliance.models import AuditEvent
from compliance.retention.archive import archive_month
from compliance.retention.errors import ArchiveRefused, ArchiveTampered
from compliance.retention.models import ArchiveRun, RecordKind
from compliance.retention.release import archive_release
from compliance.retention.restore import (
    archive_restore,
    restored_query,
    restored_rows,
    restored_table,
)
from compliance.retention.services import (
    archive_purge_approve,
    archive_purge_request,
    legal_hold_place,
)
from compliance.retention.verify import archive_verify, manifest_read
from compliance.seal_verify import seals_verify
from compliance.seals import seal_write
from compliance.services import audit_checkpoint, audit_record
from compliance.tests.retention_fixtures import IN_MONTH, events_at
from compliance.verify import audit_verify

# Transactional: on PostgreSQL the release deletes as the owner in a session of its own,
# which sees only committed rows.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("archive_dir")]
AUDIT = RecordKind.AUDIT_EVENTS


@pytest.fixture
def march(held_account):
    """March 2020 on two chains, with JSON, an IP and a request id; April on the firm's."""
    with time_machine.travel(IN_MONTH, tick=False):
        audit_record(action="test.event", object_type="tests.thing", object_id="1",
                     source_ip="10.1.2.3", request_id="req-1",
                     before={"qty": 5, "price": "101.25", "nested": {"ok": True}},
                     after={"names": ["ā", "ब"], "none": None})  # fmt: skip
    events_at(IN_MONTH, 2)
    events_at(IN_MONTH + dt.timedelta(days=1), 2, account_id=held_account.pk)
    events_at(IN_MONTH + dt.timedelta(days=30), 2)  # April
    return held_account


def march_rows() -> list[dict]:
    return list(
        AuditEvent.objects.filter(occurred_at__lt=dt.datetime(2020, 4, 1, tzinfo=dt.UTC))
        .order_by("chain", "seq")
        .values()
    )


def test_archive_release_restore_round_trip_is_identical(march, archive_officers):
    before = march_rows()
    assert len(before) == 5
    seal_write(force=True)
    checkpoint = audit_checkpoint()

    run = archive_month(kind=AUDIT, month="2020-03", actor=archive_officers[0])
    run = archive_release(run=run, actor=archive_officers[0])

    assert run.status == "released"
    assert run.online_released_at is not None
    assert march_rows() == []
    assert AuditEvent.objects.filter(occurred_at__year=2020, occurred_at__month=4).count() == 2
    audit_record(action="test.after_release")  # the chain goes on past the boundary
    result = audit_verify()
    assert result.ok, str(result)
    assert audit_verify(since_checkpoint=checkpoint).ok
    assert seal_write() is not None  # sealing over released heads is not a rewrite
    assert seals_verify().ok

    where = archive_restore(run=run, actor=archive_officers[1])
    restored = restored_rows(run, AuditEvent)
    assert restored == before  # field by field, every column
    table = restored_table(run, AuditEvent)
    assert restored_query(run, f"SELECT count(*) FROM {table}") == [(5,)]  # noqa: S608
    if connection.vendor == "sqlite":
        assert not os.stat(where).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            restored_query(run, f"DELETE FROM {table}")  # noqa: S608
    elif settings.DATABASE_MIGRATION_URL:  # the runtime role may only read it
        assert where == f"archive_restore.compliance_auditevent_run{run.pk}"
        with pytest.raises(DatabaseError, match="permission denied"):
            restored_query(run, f"DELETE FROM {table}")  # noqa: S608


def test_a_released_chain_still_breaks_when_the_first_online_event_is_forged(
    march, archive_officers, tamper
):
    run = archive_month(kind=AUDIT, month="2020-03", actor=archive_officers[0])
    archive_release(run=run, actor=archive_officers[0])
    tamper(4, prev_hash="f" * 64)  # April's first event on the firm chain

    result = audit_verify()
    assert (result.broken_chain, result.broken_seq) == ("firm", 4)
    assert "prev_hash does not match event 3" in result.reason


def test_a_tampered_archive_is_not_released_nor_restored(march, archive_officers, archive_dir):
    run = archive_month(kind=AUDIT, month="2020-03", actor=archive_officers[0])
    name = manifest_read(run)["files"][0]["name"]
    (archive_dir / name).write_bytes(b"PAR1 not the archive PAR1")

    for attempt in (archive_release, archive_restore):
        with pytest.raises(ArchiveTampered, match=f"archive file {name}"):
            attempt(run=run, actor=archive_officers[0])
    assert len(march_rows()) == 5


def test_release_is_refused_under_a_legal_hold_placed_after_archival(march, archive_officers):
    run = archive_month(kind=AUDIT, month="2020-03", actor=archive_officers[0])
    legal_hold_place(client=march.client, reason="court order", actor=archive_officers[1])
    with pytest.raises(ArchiveRefused, match=r"under legal hold \d+ on client"):
        archive_release(run=run, actor=archive_officers[0])
    assert len(march_rows()) == 5


def released_march(officers) -> ArchiveRun:
    run = archive_month(kind=AUDIT, month="2020-03", actor=officers[0])
    return archive_release(run=run, actor=officers[0])


AFTER_RETENTION = dt.date(2025, 4, 1)  # March 2020 + 5 years


def test_a_purge_needs_a_second_officer_after_retention(march, archive_officers, archive_dir):
    asha, bala = archive_officers
    run = released_march(archive_officers)
    files = [archive_dir / e["name"] for e in manifest_read(run)["files"]]

    with pytest.raises(ArchiveRefused, match="kept 5 years, until 2025-04-01"):
        archive_purge_request(run=run, actor=asha, today=dt.date(2025, 3, 31))
    run = archive_purge_request(run=run, actor=asha, today=AFTER_RETENTION)
    with pytest.raises(ArchiveRefused, match="a second officer approves"):
        archive_purge_approve(run=run, actor=asha, today=AFTER_RETENTION)
    assert all(f.exists() for f in files)

    run = archive_purge_approve(run=run, actor=bala, today=AFTER_RETENTION)
    assert (run.status, run.purge_requested_by, run.purge_approved_by) == ("purged", asha, bala)
    assert not any(f.exists() for f in files)
    assert ArchiveRun.objects.filter(pk=run.pk, status="purged").exists()  # the run is kept
    assert audit_verify().ok  # the boundary stays on the run
    with pytest.raises(ArchiveRefused, match="purged"):
        archive_restore(run=run, actor=bala)


def test_the_database_refuses_one_officer_approving_their_own_purge(march, archive_officers):
    from django.db import IntegrityError, transaction

    run = released_march(archive_officers)
    with pytest.raises(IntegrityError), transaction.atomic():
        ArchiveRun.objects.filter(pk=run.pk).update(
            purge_requested_by=archive_officers[0], purge_approved_by=archive_officers[0]
        )


def test_a_purge_is_refused_under_a_legal_hold(march, archive_officers):
    run = released_march(archive_officers)
    legal_hold_place(client=march.client, reason="arbitration", actor=archive_officers[1])
    with pytest.raises(ArchiveRefused, match="under legal hold"):
        archive_purge_request(run=run, actor=archive_officers[0], today=AFTER_RETENTION)


def test_months_are_released_in_order(march, archive_officers):
    march_run = archive_month(kind=AUDIT, month="2020-03", actor=archive_officers[0])
    april = archive_month(kind=AUDIT, month="2020-04", actor=archive_officers[0])
    with pytest.raises(ArchiveRefused, match="release 2020-03 first"):
        archive_release(run=april, actor=archive_officers[0])
    archive_release(run=march_run, actor=archive_officers[0])
    archive_release(run=april, actor=archive_officers[0])
    assert audit_verify().ok
    assert archive_verify(run=april).rows == 2


@pytest.mark.parametrize(
    "change",
    [{"bounds": {}}, {"manifest_sha256": "0" * 64}, {"rows": 0}, {"status": "archived"}],
    ids=["bounds", "manifest", "rows", "status back"],
)
def test_the_database_refuses_rewriting_what_a_run_recorded(march, archive_officers, change):
    """audit_verify starts a released chain from its run's bounds: no path may move them."""
    from django.db import DatabaseError, transaction

    run = released_march(archive_officers)
    with (
        pytest.raises(DatabaseError, match="what an archive run recorded is fixed"),
        transaction.atomic(),
    ):
        ArchiveRun.objects.filter(pk=run.pk).update(**change)
    assert ArchiveRun.objects.get(pk=run.pk).bounds == run.bounds
    assert audit_verify().ok
