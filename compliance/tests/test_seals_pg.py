"""What only the seals catch: a database owner's cut tail, deleted chain or rehashed history.

Each tamper below leaves a trail that the chain walk passes (shown), made as a superuser
with the append-only trigger disabled; the seals, kept outside the database, find it.
"""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from compliance.chain import event_hash
from compliance.models import AuditChain, AuditEvent
from compliance.seal_verify import seals_verify
from compliance.seals import SealRefused, seal_write
from compliance.tests.conftest import account_events, seal_lines
from compliance.verify import audit_verify
from conftest import require, run_manage

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _postgresql(db):
    require(connection.vendor == "postgresql", "PostgreSQL")


@pytest.fixture
def sealed(record_events, seal_files):
    """Three chains (firm 2 events, account:1 5, account:2 3), sealed; the seal."""
    record_events(2)
    account_events(1, 5)
    account_events(2, 3)
    written = seal_write()
    assert written.seal["heads"]["account:1"][0] == 5
    return written


@pytest.fixture
def cut_tail(run_sql_around_trigger):
    """``cut_tail(chain, keep)`` deletes the chain's events after seq ``keep``, moves the head."""

    def cut(chain: str, keep: int) -> None:
        run_sql_around_trigger(
            "DELETE FROM compliance_auditevent WHERE chain = %s AND seq > %s", [chain, keep]
        )
        last = AuditEvent.objects.get(chain=chain, seq=keep)
        AuditChain.objects.filter(key=chain).update(seq=keep, hash=last.hash)

    return cut


@pytest.fixture
def rewrite_from(run_sql_around_trigger):
    """``rewrite_from(chain, seq)`` changes event ``seq`` and rehashes it and every later
    event, then moves the head."""

    def rewrite(chain: str, seq: int) -> None:
        prev_hash = AuditEvent.objects.get(chain=chain, seq=seq - 1).hash
        events = AuditEvent.objects.filter(chain=chain, seq__gte=seq).order_by("seq")
        for event in events.values():
            fields = {**event, "prev_hash": prev_hash}
            if event["seq"] == seq:
                fields["actor_username"] = "mallory"
            fields["hash"] = event_hash(fields)
            run_sql_around_trigger(
                "UPDATE compliance_auditevent SET actor_username = %s, prev_hash = %s, hash = %s "
                "WHERE id = %s",
                [fields["actor_username"], fields["prev_hash"], fields["hash"], event["id"]],
            )
            prev_hash = fields["hash"]
        AuditChain.objects.filter(key=chain).update(hash=prev_hash)

    return rewrite


def findings() -> list[str]:
    return [str(f) for f in seals_verify().findings]


def test_a_cut_tail_is_found_only_by_the_seals(sealed, cut_tail):
    cut_tail("account:1", keep=3)

    assert audit_verify().ok  # the chain walk sees a shorter, intact chain
    at = sealed.seal["at"]
    assert findings() == [
        f"seal 1 ({at}), chain account:1 at seq 5: the chain's head is at seq 3, behind the "
        "sealed seq (tail cut)",
        f"seal 1 ({at}), chain account:1 at seq 5: the sealed event is missing",
    ]
    with pytest.raises(CommandError) as error:
        call_command("audit_verify", "--seals")
    assert "Audit trail intact" in str(error.value)
    assert "Seals BROKEN: 2 finding(s)" in str(error.value)
    assert "seal 1 (" in str(error.value)
    assert "chain account:1 at seq 5" in str(error.value)


def test_a_deleted_chain_is_found_only_by_the_seals(sealed, run_sql_around_trigger, privileged_db):
    run_sql_around_trigger("DELETE FROM compliance_auditevent WHERE chain = 'account:2'")
    with privileged_db.cursor() as cursor:
        cursor.execute("DELETE FROM compliance_auditchain WHERE key = 'account:2'")

    assert audit_verify().ok
    assert findings() == [
        f"seal 1 ({sealed.seal['at']}), chain account:2 at seq 3: the chain's head row is gone "
        "and so is the sealed event"
    ]


def test_a_rewritten_history_is_found_only_by_the_seals(sealed, rewrite_from):
    rewrite_from("account:1", 2)

    assert audit_verify().ok  # every link recomputed: the walk cannot tell
    assert AuditEvent.objects.get(chain="account:1", seq=2).actor_username == "mallory"
    assert findings() == [
        f"seal 1 ({sealed.seal['at']}), chain account:1 at seq 5: the event no longer has the "
        "sealed hash (history rewritten)"
    ]


def test_tampering_before_an_older_seal_is_named_with_the_seal_of_that_head(sealed, rewrite_from):
    account_events(2, 1)
    second = seal_write()  # seals account:2 only; account:1's head stays from seal 1
    rewrite_from("account:1", 4)
    rewrite_from("account:2", 2)

    assert audit_verify().ok
    assert findings() == [
        f"seal 1 ({sealed.seal['at']}), chain account:1 at seq 5: the event no longer has the "
        "sealed hash (history rewritten)",
        f"seal 2 ({second.seal['at']}), chain account:2 at seq 4: the event no longer has the "
        "sealed hash (history rewritten)",
    ]


def test_the_writer_refuses_to_seal_over_a_rewrite(sealed, seal_files, cut_tail):
    cut_tail("account:1", keep=4)
    account_events(1, 2)  # the chain grows again past the cut: seq 5 is a new event

    with pytest.raises(SealRefused, match="chain account:1 at seq 5: the sealed event is gone"):
        seal_write()
    assert len(seal_lines(seal_files)) == 1


def test_tampering_after_the_last_seal_is_out_of_the_seals_reach(sealed, cut_tail):
    account_events(1, 2)  # seq 6 and 7, never sealed
    cut_tail("account:1", keep=5)

    assert audit_verify().ok
    assert seals_verify().ok  # the documented limit: seal often


@pytest.mark.django_db(transaction=True)
def test_a_seal_written_by_another_process_continues_the_chain(record_events, seal_files, settings):
    record_events(2)
    seal_write()
    account_events(3, 1)
    db = connection.settings_dict
    child = run_manage(
        "audit_seal",
        env={
            "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:"
            f"{db['PORT']}/{db['NAME']}",
            "AUDIT_SEAL_SINK": settings.AUDIT_SEAL_SINK,
            "AUDIT_SEAL_KEY_FILE": str(settings.AUDIT_SEAL_KEY_FILE),
            "TRADINGSITE_DATA_DIR": str(seal_files.parent / "child-data"),
        },
    )
    assert child.returncode == 0, child.stderr
    assert "Seal 2 of 2 chains written to" in child.stdout
    account_events(3, 1)

    third = seal_write()  # this process's cache knew seal 1 only

    lines = seal_lines(seal_files)
    assert [s["seal"] for s in lines] == [1, 2, 3]
    assert lines[1]["heads"] == {"account:3": [1, lines[1]["heads"]["account:3"][1]]}
    assert third.seal["heads"]["account:3"][0] == 2
    report = seals_verify()
    assert report.ok, str(report)
