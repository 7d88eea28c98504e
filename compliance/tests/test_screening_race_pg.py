"""Races on PostgreSQL: officers disposing one hit at once dispose it once; screenings of
one client at once raise its hit once."""

from pathlib import Path

import pytest
from django.db import connection

from compliance.models import AuditEvent, Client
from compliance.screening.models import HitStatus, ScreeningHit
from compliance.screening.services import (
    DispositionRefused,
    client_screen,
    screening_hit_dispose,
    screening_list_import,
)
from conftest import require, together
from orders.models import TradingAccount

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
UN = (Path(__file__).parent / "data" / "un_consolidated_sample.xml").read_bytes()


@pytest.fixture
def listed(db):
    require(connection.vendor == "postgresql", "PostgreSQL: SQLite cannot show a race")
    screening_list_import(list_code="un", data=UN, source="un.xml")
    client = Client.objects.create(name="Mohd Rafiq Qureshi", pan="AQRPQ1234M")
    TradingAccount.objects.create(code="TS0801", client=client)
    return client


def test_concurrent_dispositions_of_one_hit_dispose_it_once(listed, user_in_role):
    (hit,) = client_screen(client=listed)
    officers = [user_in_role("Compliance Officer", username=f"officer{i}") for i in range(6)]

    def dispose(i: int):
        kind = HitStatus.TRUE_MATCH if i % 2 else HitStatus.FALSE_POSITIVE
        return screening_hit_dispose(hit=hit, disposition=kind, reason=f"by {i}", actor=officers[i])

    outcomes = together(dispose, 6)
    assert sum(isinstance(o, ScreeningHit) for o in outcomes) == 1, outcomes
    assert sum(isinstance(o, DispositionRefused) for o in outcomes) == 5
    hit.refresh_from_db()
    disposed = AuditEvent.objects.filter(action__startswith="screening.hit_").exclude(
        action="screening.hit_raised"
    )
    assert disposed.count() == 1
    assert disposed.get().after["status"] == hit.status
    account = TradingAccount.objects.get(code="TS0801")
    suspended = hit.status == HitStatus.TRUE_MATCH
    assert (account.status == TradingAccount.Status.SUSPENDED) is suspended
    assert AuditEvent.objects.filter(action="account.suspended").count() == int(suspended)


def test_concurrent_screenings_raise_one_hit(listed):
    outcomes = together(lambda i: client_screen(client=listed), 6)
    assert sorted(len(o) for o in outcomes) == [0, 0, 0, 0, 0, 1]
    assert ScreeningHit.objects.count() == 1
    assert AuditEvent.objects.filter(action="screening.hit_raised").count() == 1
