"""Archiving a month: the files and manifest written, verified, and refused when tampered,
inside the online window, out of order or under a legal hold."""

import datetime as dt
import json

import pyarrow.parquet as pq
import pytest
import time_machine

from compliance.models import AuditEvent
from compliance.retention.archive import archive_month
from compliance.retention.errors import ArchiveRefused, ArchiveTampered
from compliance.retention.models import ArchiveRun, RecordKind, RetentionPolicy
from compliance.retention.services import legal_hold_place, legal_hold_release
from compliance.retention.verify import archive_verify
from compliance.services import audit_record
from compliance.tests.retention_fixtures import IN_MONTH, MONTH, events_at

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("archive_dir")]
AUDIT = RecordKind.AUDIT_EVENTS


@pytest.fixture
def past_month(held_account):
    """Events of March 2020 on the firm's chain and an account's, and one of April."""
    events_at(IN_MONTH, 3)
    events_at(IN_MONTH, 2, account_id=held_account.pk)
    events_at(IN_MONTH + dt.timedelta(days=30), 1)
    return held_account


def test_a_past_month_is_archived_to_parquet_with_a_manifest(
    past_month, archive_officers, archive_dir
):
    run = archive_month(kind=AUDIT, month="2020-03", actor=archive_officers[0])

    assert (run.kind, run.month, run.rows, run.status) == (AUDIT, MONTH, 5, "archived")
    manifest = json.loads((archive_dir / run.manifest_name).read_bytes())
    [entry] = manifest["files"]
    assert (entry["table"], entry["rows"]) == ("compliance_auditevent", 5)
    table = pq.read_table(archive_dir / entry["name"])
    archived = list(
        zip(table.column("chain").to_pylist(), table.column("seq").to_pylist(), strict=True)
    )
    chain = f"account:{past_month.pk}"
    assert archived == [(chain, 1), (chain, 2), ("firm", 1), ("firm", 2), ("firm", 3)]
    assert run.bounds == {
        chain: [1, 2, AuditEvent.objects.get(chain=chain, seq=2).hash],
        "firm": [1, 3, AuditEvent.objects.get(chain="firm", seq=3).hash],
    }
    assert manifest["policy"] == {"retention_years": 5, "online_months": 12}
    assert manifest["heads"]["firm"][0] >= 4  # April's event and the archive's own
    assert set(manifest["seal"]) == {"number", "digest"}
    assert str(archive_verify(run=run)) == f"Archive run {run.pk} intact: 1 files, 5 rows verified."
    assert AuditEvent.objects.filter(action="archive.created", object_id=str(run.pk)).exists()


def test_a_tampered_archive_file_is_refused_naming_it(past_month, archive_officers, archive_dir):
    run = archive_month(kind=AUDIT, month="2020-03", actor=archive_officers[0])
    name = json.loads((archive_dir / run.manifest_name).read_bytes())["files"][0]["name"]
    path = archive_dir / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))

    with pytest.raises(ArchiveTampered, match=f"archive file {name} does not match its sha256"):
        archive_verify(run=run)


def test_a_file_rewritten_with_its_manifest_is_refused_by_the_chain(
    past_month, archive_officers, archive_dir
):
    """Even a forger who rewrites a file and its manifest entry (not the run's pin) fails."""
    run = archive_month(kind=AUDIT, month="2020-03", actor=archive_officers[0])
    manifest_path = archive_dir / run.manifest_name
    manifest = json.loads(manifest_path.read_bytes())
    manifest["files"][0]["rows"] = 4
    manifest_path.write_text(json.dumps(manifest))

    with pytest.raises(ArchiveTampered, match=f"manifest {run.manifest_name} does not match"):
        archive_verify(run=run)


def test_a_month_inside_the_online_window_is_refused(archive_officers):
    events_at(dt.datetime(2026, 11, 2, tzinfo=dt.UTC), 1)
    with pytest.raises(ArchiveRefused, match="inside the online window of 12 months"):
        archive_month(
            kind=AUDIT, month="2026-11", actor=archive_officers[0], today=dt.date(2026, 12, 3)
        )
    RetentionPolicy.objects.filter(kind=AUDIT).update(online_months=1)
    with pytest.raises(ArchiveRefused, match="may be archived from 2027-01-01"):
        archive_month(
            kind=AUDIT, month="2026-11", actor=archive_officers[0], today=dt.date(2026, 12, 31)
        )
    assert not ArchiveRun.objects.exists()


def test_months_are_archived_in_order(past_month, archive_officers):
    with pytest.raises(ArchiveRefused, match="events of 2020-03 are not archived yet"):
        archive_month(kind=AUDIT, month="2020-04", actor=archive_officers[0])
    archive_month(kind=AUDIT, month="2020-03", actor=archive_officers[0])
    april = archive_month(kind=AUDIT, month="2020-04", actor=archive_officers[0])
    assert april.bounds["firm"][:2] == [4, 4]
    with pytest.raises(ArchiveRefused, match="archived already"):
        archive_month(kind=AUDIT, month="2020-03", actor=archive_officers[0])


def test_a_legal_hold_on_the_client_refuses_archival(past_month, archive_officers):
    hold = legal_hold_place(
        client=past_month.client, reason="SEBI inquiry", actor=archive_officers[0]
    )
    with pytest.raises(ArchiveRefused, match=f"chain account:{past_month.pk} is under legal hold"):
        archive_month(kind=AUDIT, month="2020-03", actor=archive_officers[0])
    assert not ArchiveRun.objects.exists()

    legal_hold_release(hold=hold, reason="inquiry closed", actor=archive_officers[1])
    assert archive_month(kind=AUDIT, month="2020-03", actor=archive_officers[0]).rows == 5


def test_a_legal_hold_on_a_case_refuses_archival_of_its_subject(past_month, archive_officers):
    from compliance.cases.models import Case

    case = Case.objects.create(title="Layering", client=past_month.client, sla_due_at=IN_MONTH)
    legal_hold_place(case=case, reason="case under investigation", actor=archive_officers[0])
    with pytest.raises(ArchiveRefused, match=f"chain account:{past_month.pk} is under legal hold"):
        archive_month(kind=AUDIT, month="2020-03", actor=archive_officers[0])


def test_every_kind_has_an_archiver_and_another_is_refused_not_skipped(archive_officers):
    from compliance.retention.archive import SELECTIONS
    from compliance.retention.tables import TABLES

    assert set(TABLES) == set(RecordKind.values)
    assert set(SELECTIONS) == set(RecordKind.values) - {RecordKind.AUDIT_EVENTS}
    with pytest.raises(ArchiveRefused, match="archival of bonds is not built yet"):
        archive_month(kind="bonds", month="2020-03", actor=archive_officers[0])


def test_only_an_officer_with_the_right_archives(user_in_role):
    trader = user_in_role("Trader", "tara")
    events_at(IN_MONTH, 1)
    with pytest.raises(ArchiveRefused, match="tara may not archive records"):
        archive_month(kind=AUDIT, month="2020-03", actor=trader)


def test_a_hold_on_a_client_refuses_a_month_with_events_about_it_on_the_firm_chain(
    archive_officers, held_account
):
    with time_machine.travel(IN_MONTH, tick=False):
        audit_record(action="client.changed", obj=held_account.client)  # the firm's chain
    legal_hold_place(client=held_account.client, reason="SEBI inquiry", actor=archive_officers[0])
    client = f"compliance.client {held_account.client.pk}"
    with pytest.raises(ArchiveRefused, match=f"events about {client} are under legal hold"):
        archive_month(kind=AUDIT, month="2020-03", actor=archive_officers[0])


def test_a_month_is_a_calendar_month_in_ist(archive_officers):
    """00:10 IST on 1 April is still 31 March in UTC: it belongs to April."""
    events_at(dt.datetime(2020, 3, 31, 18, 0, tzinfo=dt.UTC), 1)  # 23:30 IST, 31 March
    events_at(dt.datetime(2020, 3, 31, 18, 40, tzinfo=dt.UTC), 1)  # 00:10 IST, 1 April
    march = archive_month(kind=AUDIT, month="2020-03", actor=archive_officers[0])
    assert march.bounds["firm"][:2] == [1, 1]
