"""On PostgreSQL the database refuses UPDATE and DELETE on the trail, and tampering is found.

The runtime role the tests connect as (CI) is refused by its grants; the append-only
trigger refuses even the schema owner. Tampering is done as a superuser with the trigger
disabled (``privileged_db``).
"""

import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from compliance.models import AuditChain, AuditCheckpoint, AuditEvent
from compliance.services import audit_checkpoint, audit_record
from compliance.verify import audit_verify
from conftest import require

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _postgresql(db):
    require(connection.vendor == "postgresql", "PostgreSQL")


def raw(sql: str, params: list | tuple = ()) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (
            "UPDATE compliance_auditevent SET action = 'order.cancelled' WHERE seq = 2",
            "compliance_auditevent is append-only: UPDATE refused",
        ),
        (
            "DELETE FROM compliance_auditevent WHERE seq = 2",
            "compliance_auditevent is append-only: DELETE refused",
        ),
        (
            "UPDATE compliance_auditcheckpoint SET events = 1",
            "compliance_auditcheckpoint is append-only: UPDATE refused",
        ),
        (
            "DELETE FROM compliance_auditcheckpoint",
            "compliance_auditcheckpoint is append-only: DELETE refused",
        ),
    ],
)
def test_the_database_refuses_updates_and_deletes(record_events, privileged_db, sql, message):
    record_events(3)
    audit_checkpoint()

    # The app's own login: the runtime role holds neither privilege (a superuser: the trigger).
    refused = "permission denied for table" if privileged_db.as_runtime_role else message
    with pytest.raises(DatabaseError, match=refused):
        raw(sql)
    with privileged_db.connection_as("owner"), pytest.raises(DatabaseError, match=message):
        raw(sql)

    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["test.event"] * 3
    assert AuditCheckpoint.objects.get().events == 3


def test_a_row_altered_with_the_trigger_disabled_is_found(record_events, privileged_db):
    record_events(5)
    with privileged_db.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE compliance_auditevent DISABLE TRIGGER compliance_auditevent_append_only"
        )
        try:
            cursor.execute("UPDATE compliance_auditevent SET after = '{\"i\": 99}' WHERE seq = 4")
        finally:
            cursor.execute(
                "ALTER TABLE compliance_auditevent ENABLE TRIGGER compliance_auditevent_append_only"
            )

    result = audit_verify()

    assert not result.ok
    assert (result.broken_seq, result.reason) == (4, "hash does not match the event's contents")
    assert result.checked == 3
    with privileged_db.connection_as("owner"), pytest.raises(DatabaseError, match="append-only"):
        raw("DELETE FROM compliance_auditevent WHERE seq = 4")  # the trigger is back


def test_the_command_fails_and_names_the_seq(record_events, privileged_db, capsys):
    # call_command, not execute_from_command_line: that one runs django.setup() again, whose
    # logging handlers would keep this test's captured (soon closed) stderr for good.
    record_events(3)
    call_command("audit_verify")
    assert "Audit trail intact: 3 events checked in 1 chain" in capsys.readouterr().out

    with privileged_db.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE compliance_auditevent DISABLE TRIGGER compliance_auditevent_append_only"
        )
        cursor.execute("UPDATE compliance_auditevent SET actor_username = 'mallory' WHERE seq = 2")
        cursor.execute(
            "ALTER TABLE compliance_auditevent ENABLE TRIGGER compliance_auditevent_append_only"
        )

    # A CommandError is what manage.py turns into exit status 1 with the message on stderr.
    with pytest.raises(CommandError, match="chain firm at seq 2: hash does not match the event's"):
        call_command("audit_verify")


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain():
    start = AuditChain.objects.filter(key="firm").values_list("seq", flat=True).first() or 0
    threads, per_thread = 8, 25
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            for i in range(per_thread):
                audit_record(action="test.concurrent", object_id=f"{n}-{i}")
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=write, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)

    assert errors == []
    total = threads * per_thread
    seqs = list(
        AuditEvent.objects.filter(chain="firm").order_by("seq").values_list("seq", flat=True)
    )
    assert seqs == list(range(start + 1, start + total + 1))
    assert (
        AuditEvent.objects.filter(action="test.concurrent").values("object_id").distinct().count()
        == total
    )
    result = audit_verify()
    assert result.ok, str(result)
    assert result.heads["firm"][0] == start + total


@pytest.mark.django_db(transaction=True)
def test_worker_processes_verify_as_one_process_does(monkeypatch, privileged_db):
    from compliance import verify

    for account in range(1, 6):
        for i in range(4):
            audit_record(action="test.event", object_id=str(i), account_id=account)
    monkeypatch.setattr(verify, "PARALLEL_MIN_EVENTS", 1)

    alone, shared = audit_verify(workers=1), audit_verify(workers=2)

    assert alone.ok, str(alone)
    assert shared.ok, str(shared)
    assert (shared.checked, shared.heads) == (alone.checked, alone.heads) == (20, shared.heads)
    with privileged_db.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE compliance_auditevent DISABLE TRIGGER compliance_auditevent_append_only;"
            "UPDATE compliance_auditevent SET action = 'x' WHERE chain = 'account:3' AND seq = 2;"
            "ALTER TABLE compliance_auditevent ENABLE TRIGGER compliance_auditevent_append_only"
        )
    broken = audit_verify(workers=2)
    assert (broken.broken_chain, broken.broken_seq) == ("account:3", 2)
