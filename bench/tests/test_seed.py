"""The bench's COPY seeding makes rows the application accepts: a chain audit_verify passes,
and order history that leaves the account's funds alone."""

import pytest
from django.db import connection

from bench.seed import seed_audit_events, seed_orders
from compliance.services import audit_record
from compliance.verify import audit_verify
from conftest import require
from orders.models import Order

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _postgresql(db):
    require(connection.vendor == "postgresql", "PostgreSQL (COPY)")


def test_seeded_events_continue_a_chain_that_verifies():
    audit_record(action="bench.before")
    first = seed_audit_events(40, chains=3)
    again = seed_audit_events(20, chains=3)  # each chain continues from its head
    audit_record(action="bench.after")
    result = audit_verify()
    assert result.ok, str(result)
    assert (first["events"], again["events"]) == (40, 20)
    seeded = [seq for chain, (seq, _) in result.heads.items() if chain != "firm"]
    assert (len(seeded), sum(seeded)) == (3, 60)
    assert result.heads["firm"][0] == 2


def test_seeded_events_are_caught_when_tampered(privileged_db):
    seed_audit_events(12, chains=2)
    with privileged_db.cursor() as cursor:  # a superuser, past the append-only trigger
        cursor.execute("ALTER TABLE compliance_auditevent DISABLE TRIGGER USER")
        cursor.execute(
            "UPDATE compliance_auditevent SET object_id = 'x' "
            "WHERE chain = 'account:9000001' AND seq = 2"
        )
        cursor.execute("ALTER TABLE compliance_auditevent ENABLE TRIGGER USER")
    result = audit_verify()
    assert not result.ok
    assert (result.broken_chain, result.broken_seq) == ("account:9000001", 2)


def test_seeded_orders_are_finished_and_unique(account):
    assert seed_orders(30, accounts=[account.code]) == 30
    assert seed_orders(30, accounts=[account.code], first=30) == 30
    orders = Order.objects.filter(account=account)
    assert orders.count() == 60
    assert set(orders.values_list("status", flat=True)) == {"CANCELLED", "EXPIRED", "REJECTED"}
    assert orders.values("client_order_id").distinct().count() == 60
    for order in orders[:5]:
        order.full_clean()
    account.refresh_from_db()
    assert account.blocked == 0
