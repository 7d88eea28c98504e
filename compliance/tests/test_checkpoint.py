"""Checkpoints: the daily snapshot of the head, and verification that starts from one."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from compliance import tasks
from compliance.models import AuditCheckpoint, AuditEvent
from compliance.services import AuditChainBroken, audit_checkpoint
from compliance.verify import audit_verify
from ops.schedules import DEFAULT_SCHEDULES

pytestmark = pytest.mark.django_db


def test_verification_since_a_checkpoint_checks_only_later_events(record_events, tamper):
    record_events(3)
    checkpoint = audit_checkpoint()
    assert checkpoint.heads == {"firm": [3, AuditEvent.objects.get(seq=3).hash]}
    record_events(2)
    tamper(1, action="rewritten")  # before the checkpoint: out of this check's reach

    since = audit_verify(since_checkpoint=checkpoint)
    full = audit_verify()

    assert (since.ok, since.checked, since.heads["firm"][0]) == (True, 2, 5)
    assert "2 events checked since the checkpoint in 1 chain" in str(since)
    assert (full.ok, full.broken_seq) == (False, 1)


def test_tampering_after_a_checkpoint_is_still_caught(record_events, tamper):
    record_events(3)
    checkpoint = audit_checkpoint()
    record_events(3)
    tamper(5, after='{"i": 42}')

    result = audit_verify(since_checkpoint=checkpoint)

    assert (result.ok, result.broken_seq) == (False, 5)
    assert result.reason == "hash does not match the event's contents"


def test_the_checkpointed_event_itself_must_still_match(record_events, tamper):
    record_events(3)
    checkpoint = audit_checkpoint()
    tamper(3, hash="d" * 64)

    result = audit_verify(since_checkpoint=checkpoint)

    assert (result.ok, result.broken_seq) == (False, 3)
    assert result.reason == "event 3 no longer has the checkpoint's hash"


def test_checkpointing_twice_without_new_events_keeps_one(record_events):
    record_events(2)
    first = audit_checkpoint()
    assert audit_checkpoint() == first
    record_events(1)
    assert audit_checkpoint().events == 3
    assert AuditCheckpoint.objects.count() == 2


def test_a_broken_chain_is_not_checkpointed(record_events, tamper):
    record_events(3)
    tamper(2, object_id="x")

    with pytest.raises(AuditChainBroken, match="BROKEN: chain firm at seq 2"):
        audit_checkpoint()

    assert not AuditCheckpoint.objects.exists()


def test_the_task_checkpoints_and_is_scheduled_daily(record_events):
    record_events(2)

    outcome = tasks.audit_checkpoint.apply().get()

    assert (outcome["chains"], outcome["events"]) == (1, 2)
    assert AuditCheckpoint.objects.get().pk == outcome["checkpoint"]
    entry = next(s for s in DEFAULT_SCHEDULES if s.task == "compliance.tasks.audit_checkpoint")
    assert entry.crontab == "55 23 * * *"


def test_the_command_starts_from_the_latest_checkpoint(record_events, capsys):
    record_events(2)
    audit_checkpoint()
    record_events(1)

    call_command("audit_verify", "--since-checkpoint")

    assert "1 events checked since the checkpoint in 1 chain" in capsys.readouterr().out
    with pytest.raises(CommandError, match="no audit checkpoint with id '999'"):
        call_command("audit_verify", "--since-checkpoint", "999")
