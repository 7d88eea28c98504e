"""Writing the audit trail: events link into their chain, inside the caller's transaction."""

import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import given
from hypothesis import strategies as st

from compliance.chain import GENESIS_HASH, canonical_json, event_hash, plain, stored_event_hash
from compliance.models import AppendOnlyError, AuditChain, AuditEvent, Client
from compliance.services import audit_record
from compliance.verify import audit_verify

pytestmark = pytest.mark.django_db
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


def stored_fields(event: AuditEvent) -> dict:
    """The event's columns as the database gives them back."""
    return AuditEvent.objects.filter(pk=event.pk).values().get()


def test_three_events_link_into_a_chain(record_events):
    events = record_events(3)

    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS_HASH
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:2]]
    for event in events:
        assert event_hash(stored_fields(event)) == event.hash
    head = AuditChain.objects.get()
    assert (head.key, head.seq, head.hash) == ("firm", 3, events[2].hash)


def work_that_fails_after_auditing() -> None:
    with transaction.atomic():
        audit_record(action="test.rolled_back")
        raise RuntimeError("caller failed")


def test_a_rolled_back_event_leaves_no_trace_and_no_gap():
    first = audit_record(action="test.kept")
    with pytest.raises(RuntimeError, match="caller failed"):
        work_that_fails_after_auditing()
    second = audit_record(action="test.kept")

    assert not AuditEvent.objects.filter(action="test.rolled_back").exists()
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert audit_verify().ok


def test_the_hash_covers_every_field_but_id_and_hash(record_events):
    event = record_events(1)[0]
    fields = stored_fields(event)
    changes = {
        "chain": "account:1",
        "seq": 2,
        "occurred_at": fields["occurred_at"] + dt.timedelta(microseconds=1),
        "action": "test.other",
        "object_type": "tests.other",
        "object_id": "2",
        "actor_id": 1,
        "actor_username": "mallory",
        "source_ip": "10.0.0.1",
        "request_id": "r-1",
        "before": {"i": 0},
        "after": {"i": 2},
        "prev_hash": "1" * 64,
    }
    for name, value in changes.items():
        assert event_hash({**fields, name: value}) != event.hash, name
    assert event_hash({**fields, "id": 999, "hash": "f" * 64}) == event.hash


def test_obj_gives_the_object_type_and_id_and_outside_a_request_the_actor_is_system():
    client = Client.objects.create(name="Asha Rao", pan="ABCPE1234F")

    event = audit_record(action="client.created", obj=client, after={"name": client.name})

    assert (event.object_type, event.object_id) == ("compliance.client", str(client.pk))
    assert (event.actor_id, event.actor_username, event.source_ip) == (None, "system", None)


def test_an_explicit_actor_and_ip_are_recorded(django_user_model):
    user = django_user_model.objects.create_user(username="dealer1")

    event = audit_record(action="order.accepted", actor=user, source_ip="2001:DB8:0:0::1")

    assert (event.actor_id, event.actor_username) == (user.pk, "dealer1")
    assert stored_fields(event)["source_ip"] == "2001:db8::1"
    assert audit_verify().ok


def test_values_survive_the_database_round_trip_with_their_hash():
    moment = dt.datetime(2026, 11, 20, 15, 29, 59, 123456, tzinfo=IST)
    before = {
        "price": Decimal("1234.50"),
        "quantity": 10,
        "ratio": 1e16,
        "tiny": 1.5e-7,
        "note": "₹ नमस्ते",
        "at": moment,
        "order_id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "nested": [{"b": True, "a": None}],
        7: "int key",
    }

    event = audit_record(action="order.modified", before=before, after={"price": Decimal("1240")})

    stored = stored_fields(event)
    assert stored["before"]["price"] == "1234.50"
    assert stored["before"]["at"] == "2026-11-20T09:59:59.123456+00:00"
    assert stored["before"]["ratio"] == "1e+16"
    assert event_hash(stored) == event.hash
    assert audit_verify().ok


def test_canonical_json_is_sorted_tight_and_utc():
    text = canonical_json(
        {
            "chain": "firm",
            "seq": 1,
            "occurred_at": dt.datetime(2026, 1, 1, 5, 30, tzinfo=IST),
            "action": "x",
            "object_type": "",
            "object_id": "",
            "actor_id": None,
            "actor_username": "système",
            "source_ip": None,
            "request_id": "",
            "before": None,
            "after": {"z": Decimal("1.10"), "a": 1},
            "prev_hash": GENESIS_HASH,
            "hash": "ignored",
        }
    )

    assert text.startswith('{"action":"x","actor_id":null,"actor_username":"système",')
    assert '"chain":"firm"' in text
    assert '"after":{"a":1,"z":"1.10"}' in text
    assert '"occurred_at":"2026-01-01T00:00:00.000000+00:00"' in text
    assert "ignored" not in text
    assert json.loads(text)["seq"] == 1


def test_values_that_json_cannot_hold_are_refused():
    with pytest.raises(TypeError, match="cannot hold a object"):
        plain({"x": object()})
    with pytest.raises(TypeError):
        audit_record(action="test.bad", after={"x": {1, 2}})
    assert not AuditEvent.objects.exists()


def test_the_model_refuses_changes_and_deletes(record_events):
    event = record_events(1)[0]

    event.action = "rewritten"
    with pytest.raises(AppendOnlyError, match="append-only"):
        event.save()
    with pytest.raises(AppendOnlyError, match="append-only"):
        event.delete()
    with pytest.raises(AppendOnlyError, match="append-only"):
        AuditEvent.objects.filter(pk=event.pk).update(action="rewritten")
    with pytest.raises(AppendOnlyError, match="append-only"):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get().action == "test.event"


def test_an_overlong_action_is_a_caller_error():
    with pytest.raises(ValueError, match="action is at most 64 characters"):
        audit_record(action="x" * 65)


def test_a_missing_chain_head_is_rebuilt_from_the_last_event(record_events, privileged_db):
    events = record_events(2)
    with privileged_db.cursor() as cursor:  # the runtime role may not DELETE a head
        cursor.execute("DELETE FROM compliance_auditchain")

    third = audit_record(action="test.after_restore")

    assert (third.seq, third.prev_hash) == (3, events[1].hash)
    assert audit_verify().ok


def test_an_accounts_records_are_audited_on_its_own_chain(db):
    from orders.models import TradingAccount

    account = TradingAccount(pk=7)
    on_account = audit_record(action="test.account", obj=account)
    by_id = audit_record(action="test.account", object_type="orders.order", account_id=7)
    firm = audit_record(action="test.firm")

    assert (on_account.chain, on_account.seq, on_account.prev_hash) == (
        "account:7", 1, GENESIS_HASH,
    )  # fmt: skip
    assert (by_id.chain, by_id.seq, by_id.prev_hash) == ("account:7", 2, on_account.hash)
    assert (firm.chain, firm.seq) == ("firm", 1)
    assert audit_verify().ok


_plain_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(before=_plain_json, after=_plain_json, who=st.text(max_size=20))
def test_the_verifiers_fast_hash_is_the_writers_hash_for_every_plain_value(before, after, who):
    fields = {
        "chain": "account:1", "seq": 1, "occurred_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        "action": "x", "object_type": "", "object_id": "", "actor_id": None,
        "actor_username": who, "source_ip": None, "request_id": "", "before": before,
        "after": after, "prev_hash": GENESIS_HASH,
    }  # fmt: skip
    assert stored_event_hash(fields) == event_hash(fields)


def test_the_fast_hash_falls_back_for_integers_beyond_64_bits():
    fields = {
        "chain": "firm", "seq": 1, "occurred_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        "action": "x", "object_type": "", "object_id": "", "actor_id": None,
        "actor_username": "a", "source_ip": None, "request_id": "", "before": {"n": 2**70},
        "after": None, "prev_hash": GENESIS_HASH,
    }  # fmt: skip
    assert stored_event_hash(fields) == event_hash(fields)
