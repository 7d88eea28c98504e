"""A transaction's audit events are appended together: one claim and one insert per chain.

``audit_batch`` (opened by every spine transaction) holds the events and appends them at its
end, chain by chain; what a rolled-back savepoint recorded goes with it.
"""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from compliance.models import AuditChain, AuditEvent
from compliance.services import audit_batch, audit_record
from compliance.verify import audit_verify

pytestmark = pytest.mark.django_db


def _audit_statements(queries) -> int:
    return sum("compliance_audit" in q["sql"] for q in queries)


def _record(count: int, action: str = "test.batched", **kwargs) -> list[AuditEvent]:
    return [audit_record(action=action, after={"n": n}, **kwargs) for n in range(count)]


@pytest.mark.parametrize("count", [2, 7])
def test_a_batch_costs_the_statements_of_one_event(count):
    audit_record(action="test.first")  # the firm chain's head exists
    with CaptureQueriesContext(connection) as one, transaction.atomic(), audit_batch():
        _record(1)
    with CaptureQueriesContext(connection) as many, transaction.atomic(), audit_batch():
        events = _record(count)
    assert _audit_statements(many.captured_queries) == _audit_statements(one.captured_queries)
    stored = list(AuditEvent.objects.filter(action="test.batched").order_by("seq"))
    assert [e.after["n"] for e in stored[1:]] == list(range(count))  # in the order recorded
    assert [e.pk for e in events] == [e.pk for e in stored[1:]]  # the returned events are saved
    assert [e.seq for e in stored] == list(range(stored[0].seq, stored[0].seq + count + 1))
    head = AuditChain.objects.get(key="firm")
    assert (head.seq, head.hash) == (stored[-1].seq, stored[-1].hash)
    assert audit_verify().ok


def test_held_events_wait_for_the_end_of_the_batch():
    with transaction.atomic(), audit_batch():
        event = audit_record(action="test.held")
        assert event.pk is None
        assert not AuditEvent.objects.filter(action="test.held").exists()
        with audit_batch():  # a nested batch joins the outer one
            audit_record(action="test.held")
        assert not AuditEvent.objects.filter(action="test.held").exists()
    assert event.pk is not None
    assert AuditEvent.objects.filter(action="test.held").count() == 2


def test_a_batch_that_raises_writes_nothing():
    heads = list(AuditChain.objects.values_list("key", "seq", "hash"))

    def failing_change():
        with transaction.atomic(), audit_batch():
            _record(3)
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        failing_change()
    assert not AuditEvent.objects.filter(action="test.batched").exists()
    assert list(AuditChain.objects.values_list("key", "seq", "hash")) == heads


def test_a_rolled_back_savepoint_takes_its_events_and_leaves_the_held_ones():
    with transaction.atomic(), audit_batch():
        audit_record(action="test.kept")
        try:
            with transaction.atomic():  # a savepoint the batch did not open
                audit_record(action="test.undone")
                raise ValueError("undone")
        except ValueError:
            pass
        audit_record(action="test.kept")
    assert AuditEvent.objects.filter(action="test.kept").count() == 2
    assert not AuditEvent.objects.filter(action="test.undone").exists()
    assert audit_verify().ok


def test_each_chain_gets_one_append_in_key_order(account):
    account_chain = f"account:{account.pk}"
    with transaction.atomic(), audit_batch():
        _record(1, account_id=account.pk)  # both chains' heads exist
        _record(1)
    with CaptureQueriesContext(connection) as queries, transaction.atomic(), audit_batch():
        _record(2)
        _record(3, account_id=account.pk)
        _record(1)
    heads = [
        key
        for q in queries.captured_queries
        if "compliance_auditchain" in q["sql"]
        for key in (account_chain, "firm")
        if f"'{key}'" in q["sql"]
    ]
    # Each chain's head is touched as for one event, the account's ("account:<id>") first.
    per_chain = len(heads) // 2
    assert heads == [account_chain] * per_chain + ["firm"] * per_chain
    assert AuditEvent.objects.filter(chain=account_chain, action="test.batched").count() == 4
    assert AuditEvent.objects.filter(chain="firm", action="test.batched").count() == 4
    assert audit_verify().ok
