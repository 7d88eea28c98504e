"""The verifier: it finds the first broken link, whatever was done to the trail."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from compliance.chain import event_hash
from compliance.models import AuditChainHead, AuditEvent
from compliance.verify import audit_verify
from ops.models import JobRun
from ops.progress import job_progress

pytestmark = pytest.mark.django_db


def test_an_intact_chain_verifies(record_events):
    record_events(3)

    result = audit_verify(chunk_size=2)

    assert result.ok, str(result)
    assert (result.checked, result.last_seq, result.broken_seq) == (3, 3, None)
    assert str(result).startswith("Audit chain intact: 3 events checked (seq 1-3)")


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
    assert "BROKEN at seq 3" in str(result)


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
    AuditChainHead.objects.filter(pk=1).update(hash="e" * 64)

    result = audit_verify()

    assert (result.broken_seq, result.reason) == (3, "the chain head's hash does not match event 3")


def test_events_beyond_the_head_are_reported(record_events):
    record_events(3)
    AuditChainHead.objects.filter(pk=1).update(seq=2, hash=AuditEvent.objects.get(seq=2).hash)

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
    assert "Audit chain intact: 3 events checked" in capsys.readouterr().out
    tamper(2, action="order.cancelled")

    with pytest.raises(CommandError, match="BROKEN at seq 2") as error:
        call_command("audit_verify")

    assert error.value.returncode == 1
    run = JobRun.objects.filter(kind="compliance.audit_verify").latest("started_at")
    assert run.status == JobRun.Status.FAILED
    assert "seq 2" in run.message
