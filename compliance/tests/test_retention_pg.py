"""On PostgreSQL: only the table's owner, with the release flag set, may delete archived audit
events; the runtime role may not, flag or no flag. The release path does so end to end."""

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from compliance.models import AuditEvent
from compliance.retention.archive import archive_month
from compliance.retention.errors import ArchiveRefused
from compliance.retention.models import RecordKind
from compliance.retention.release import RELEASE_FLAG, archive_release
from compliance.retention.restore import archive_restore, restored_rows
from compliance.services import audit_record
from compliance.tests.retention_fixtures import IN_MONTH, events_at
from compliance.verify import audit_verify
from conftest import require

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("archive_dir")]


@pytest.fixture(autouse=True)
def _postgresql(db):
    require(connection.vendor == "postgresql", "PostgreSQL")


def delete_with_flag(sql: str, flag: bool = True) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        if flag:
            cursor.execute("SELECT set_config(%s, 'on', true)", [RELEASE_FLAG])
        cursor.execute(sql)


def test_only_the_owner_with_the_flag_may_delete_audit_events(privileged_db):
    for _ in range(3):
        audit_record(action="test.event")
    delete = "DELETE FROM compliance_auditevent WHERE seq = 3"

    # The app's own login: no DELETE grant on the trail, flag or not.
    refused = "permission denied" if privileged_db.as_runtime_role else "append-only"
    with pytest.raises(DatabaseError, match=refused):
        delete_with_flag(delete)
    with privileged_db.connection_as("owner"):
        with pytest.raises(DatabaseError, match="compliance_auditevent is append-only: DELETE"):
            delete_with_flag(delete, flag=False)
        with pytest.raises(DatabaseError, match="append-only: UPDATE refused"):
            delete_with_flag("UPDATE compliance_auditevent SET action = 'x' WHERE seq = 3")
        delete_with_flag(delete)
    assert sorted(AuditEvent.objects.values_list("seq", flat=True)) == [1, 2]


def test_the_runtime_role_cannot_bypass_the_trigger_of_a_kept_table(privileged_db):
    require(privileged_db.as_runtime_role, "the runtime role (TEST_DATABASE_ADMIN_URL)")
    from compliance.retention.models import RetentionPolicy

    RetentionPolicy.objects.get_or_create(kind="ledger")
    with pytest.raises(DatabaseError, match="kept records: DELETE refused"):
        delete_with_flag("DELETE FROM compliance_retentionpolicy")
    assert RetentionPolicy.objects.exists()


def test_archive_release_restore_round_trip_on_postgresql(
    transactional_db, held_account, archive_officers
):
    events_at(IN_MONTH, 3)
    events_at(IN_MONTH, 2, account_id=held_account.pk)
    before = list(AuditEvent.objects.order_by("chain", "seq").values())

    run = archive_month(kind=RecordKind.AUDIT_EVENTS, month="2020-03", actor=archive_officers[0])
    run = archive_release(run=run, actor=archive_officers[0])

    assert not AuditEvent.objects.filter(pk__in=[row["id"] for row in before]).exists()
    audit_record(action="test.after_release")
    assert audit_verify().ok
    archive_restore(run=run, actor=archive_officers[1])
    assert restored_rows(run, AuditEvent) == before


def test_the_release_refuses_to_run_inside_a_transaction(held_account, archive_officers):
    require(bool(settings.DATABASE_MIGRATION_URL), "DATABASE_MIGRATION_URL (the owner)")
    events_at(IN_MONTH, 2)
    run = archive_month(kind=RecordKind.AUDIT_EVENTS, month="2020-03", actor=archive_officers[0])
    with pytest.raises(ArchiveRefused, match="runs outside any transaction"):
        archive_release(run=run, actor=archive_officers[0])
    assert AuditEvent.objects.count() == 3  # and the archive's own event
