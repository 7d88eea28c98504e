"""Fixtures of the retention tests: an archive storage per test, officers, a past month."""

import datetime as dt
import importlib

import pytest
import time_machine

from compliance.models import Client
from compliance.retention.models import RetentionPolicy
from compliance.services import audit_record
from orders.models import TradingAccount

#: The past month the tests archive, and a day inside it.
MONTH = dt.date(2020, 3, 1)
IN_MONTH = dt.datetime(2020, 3, 15, 10, 0, tzinfo=dt.UTC)
#: A day when the month of records made now is long past its online window.
LATER = dt.date(2099, 1, 1)


def this_month() -> str:
    """The month (IST, ``YYYY-MM``) of records made now."""
    from django.utils import timezone

    from marketdata.calendar import IST

    return f"{timezone.now().astimezone(IST):%Y-%m}"


@pytest.fixture
def archive_dir(settings, tmp_path, db):
    """Archives go to a fresh folder for each test (the ``archive`` storage)."""
    folder = tmp_path / "archive"
    settings.STORAGES = {
        **settings.STORAGES,
        "archive": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder)},
        },
    }
    settings.ARCHIVE_RESTORE_ROOT = tmp_path / "restore"
    seeded_policies()
    return folder


def seeded_policies() -> None:
    """The policies migration 0019 seeds (a transactional test's flush empties the table)."""
    migration = importlib.import_module("compliance.migrations.0019_retention")
    for kind, (years, online, description) in migration.POLICIES.items():
        RetentionPolicy.objects.get_or_create(
            kind=kind,
            defaults={
                "retention_years": years,
                "online_months": online,
                "description": description,
            },
        )


@pytest.fixture
def archive_officers(user_in_role):
    """Two compliance officers: one requests, the other approves."""
    return [user_in_role("Compliance Officer", f"{name}_ao") for name in ("ravi", "sunita")]


@pytest.fixture
def held_account(db) -> TradingAccount:
    client = Client.objects.create(name="Meera Iyer", pan="ABCPI1234K")
    return TradingAccount.objects.create(code="TS0801", client=client)


def events_at(moment: dt.datetime, n: int, **where) -> list:
    """``n`` audit events recorded at ``moment`` (on ``account_id``'s chain if given)."""
    with time_machine.travel(moment, tick=False):
        return [
            audit_record(action="test.event", object_type="tests.thing", object_id=str(i), **where)
            for i in range(n)
        ]
