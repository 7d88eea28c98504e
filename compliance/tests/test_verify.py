"""The verifier: it finds the first broken link, whatever was done to the trail."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from compliance.chain import event_hash
from compliance.models import AuditChain, AuditEvent
from compliance.verify import audit_verify
from ops.models import JobRun
from ops.progress import job_progress

pytestmark = pytest.mark.django_db


def test_an_intact_chain_verifies(record_events):
    record_events(3)

    result = audit_verify(chunk_size=2)

    assert result.ok, str(result)
    assert (result.checked, result.heads["firm"][0], result.broken_seq) == (3, 3, None)
    assert str(result).startswith("Audit trail intact: 3 events checked in 1 chain")


def test_an_empty_chain_verifies():
    result = audit_verify()
    assert (result.ok, result.checked) == (True, 0)


def test_altered_contents_are_found_at_their_seq(record_events, tamper):
    record_events(4)
    tamper(3, object_id="999")

    result = audit_verify()

    assert (result.ok, result.broken_seq) == (False, 3)
    assert result.reason == "hash does not match the event's contents"
    assert result.checked == 2
    assert "BROKEN: chain firm at seq 3" in str(result)


def test_a_rehashed_forgery_breaks_the_next_link(record_events, tamper):
    record_events(4)
    forged = {**AuditEvent.objects.filter(seq=2).values().get(), "actor_username": "mallory"}
    tamper(2, actor_username="mallory", hash=event_hash(forged))

    result = audit_verify()

    assert (result.broken_seq, result.reason) == (3, "prev_hash does not match event 2")


def test_a_deleted_event_is_a_gap(record_events, remove):
    record_events(4)
    remove(2)

    result = audit_verify()

    assert (result.broken_seq, result.reason) == (2, "seq 2 is missing")


def test_a_cut_off_tail_is_missing_against_the_head(record_events, remove):
    record_events(4)
    remove(4)

    result = audit_verify()

    assert (result.broken_seq, result.reason, result.checked) == (4, "seq 4 is missing", 3)


def test_the_head_must_name_the_last_event(record_events):
    record_events(3)
    AuditChain.objects.filter(key="firm").update(hash="e" * 64)

    result = audit_verify()

    assert (result.broken_seq, result.reason) == (3, "the chain head's hash does not match event 3")


def test_events_beyond_the_head_are_reported(record_events):
    record_events(3)
    AuditChain.objects.filter(key="firm").update(seq=2, hash=AuditEvent.objects.get(seq=2).hash)

    result = audit_verify()

    assert (result.broken_seq, result.reason) == (3, "event 3 lies beyond the chain head (seq 2)")


def test_progress_is_recorded_for_the_admin(record_events):
    record_events(5)

    with job_progress("compliance.audit_verify", "test", show_bar=False) as job:
        audit_verify(progress=job, chunk_size=2)

    run = JobRun.objects.get(kind="compliance.audit_verify")
    assert (run.total, run.done, run.status) == (5, 5, JobRun.Status.SUCCEEDED)


def test_the_command_reports_a_broken_link_as_an_error(record_events, tamper, capsys):
    record_events(3)
    call_command("audit_verify")
    assert "Audit trail intact: 3 events checked" in capsys.readouterr().out
    tamper(2, action="order.cancelled")

    with pytest.raises(CommandError, match="BROKEN: chain firm at seq 2") as error:
        call_command("audit_verify")

    assert error.value.returncode == 1
    run = JobRun.objects.filter(kind="compliance.audit_verify").latest("started_at")
    assert run.status == JobRun.Status.FAILED
    assert "seq 2" in run.message


def _on_accounts(n_accounts: int, events: int) -> list[str]:
    """``events`` events on each of ``n_accounts`` account chains (and the firm's 3)."""
    from compliance.services import audit_record

    for account in range(1, n_accounts + 1):
        for i in range(events):
            audit_record(action="test.event", object_id=str(i), account_id=account)
    return [f"account:{n}" for n in range(1, n_accounts + 1)]


def test_each_account_has_its_own_chain_and_all_verify(record_events):
    record_events(3)
    chains = _on_accounts(3, 4)

    result = audit_verify()

    assert result.ok, str(result)
    assert result.checked == 15
    assert {c: h[0] for c, h in result.heads.items()} == {"firm": 3, **dict.fromkeys(chains, 4)}
    assert sorted(AuditEvent.objects.filter(chain="account:2").values_list("seq", flat=True)) == [
        1, 2, 3, 4,
    ]  # fmt: skip


def test_a_broken_account_chain_is_named_and_the_others_still_verify(record_events, tamper):
    record_events(3)
    _on_accounts(3, 4)
    tamper(3, chain="account:2", object_id="999")

    result = audit_verify()

    assert (result.broken_chain, result.broken_seq) == ("account:2", 3)
    assert len(result.breaks) == 1
    assert result.checked == 3 + 4 + 2 + 4
    assert "BROKEN: chain account:2 at seq 3: hash does not match" in str(result)


def test_an_event_moved_to_another_chain_is_found(run_sql_around_trigger):
    _on_accounts(2, 3)
    run_sql_around_trigger(
        "UPDATE compliance_auditevent SET chain = 'account:1', seq = 4 "
        "WHERE chain = 'account:2' AND seq = 3"
    )

    result = audit_verify()

    assert {(b.chain, b.seq) for b in result.breaks} == {("account:1", 4), ("account:2", 3)}


def test_a_chain_whose_head_row_is_gone_is_reported(record_events, privileged_db):
    _on_accounts(2, 2)
    with privileged_db.cursor() as cursor:  # the runtime role may not DELETE a head
        cursor.execute("DELETE FROM compliance_auditchain WHERE key = %s", ["account:1"])

    result = audit_verify()

    assert (result.broken_chain, result.reason) == (
        "account:1", "the chain has events but no head row",
    )  # fmt: skip


def test_from_a_checkpoint_only_the_chains_that_moved_are_walked(record_events):
    from compliance.services import audit_checkpoint, audit_record

    _on_accounts(3, 5)
    checkpoint = audit_checkpoint()
    audit_record(action="test.event", object_id="new", account_id=2)

    result = audit_verify(since_checkpoint=checkpoint)

    assert result.ok, str(result)
    assert result.checked == 1
    assert result.heads["account:2"][0] == 6
    assert result.heads["account:1"][0] == 5


def test_a_checkpointed_head_rewritten_since_is_found(record_events, tamper):
    from compliance.services import audit_checkpoint

    _on_accounts(2, 3)
    checkpoint = audit_checkpoint()
    tamper(3, chain="account:1", hash="f" * 64)

    result = audit_verify(since_checkpoint=checkpoint)

    assert (result.broken_chain, result.broken_seq) == ("account:1", 3)
    assert "no longer has the checkpoint's hash" in result.reason
