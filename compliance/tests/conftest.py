"""Fixtures of the compliance tests: audit events, and a way to tamper with them.

Tampering goes around the application (raw SQL), as a superuser (``privileged_db``: the
runtime role the tests may connect as can do none of it). On PostgreSQL the append-only
trigger is disabled for the one statement and enabled again, as an intruder with owner
rights would do. The superuser's is another session, so a test that tampers is
transactional.
"""

from collections.abc import Callable

import pytest
from django.db import connection

from compliance.models import AuditEvent
from compliance.services import audit_record

EVENTS = "compliance_auditevent"


def sql_around_trigger(cursor, sql: str, params: list | tuple = (), table: str = EVENTS) -> None:
    """Run ``sql`` on ``cursor`` (a superuser's, from ``privileged_db``) with the table's
    append-only trigger disabled (PostgreSQL) for its length."""
    if connection.vendor == "postgresql":
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")
    try:
        cursor.execute(sql, params)
    finally:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only")


@pytest.fixture
def run_sql_around_trigger(privileged_db) -> Callable[..., None]:
    """``run_sql_around_trigger(sql, params=(), table=EVENTS)``: :func:`sql_around_trigger`
    as a superuser."""

    def run(sql: str, params: list | tuple = (), table: str = EVENTS) -> None:
        with privileged_db.cursor() as cursor:
            sql_around_trigger(cursor, sql, params, table)

    return run


@pytest.fixture
def tamper(run_sql_around_trigger) -> Callable[..., None]:
    """``tamper(seq, column=value, ..., chain="firm")`` rewrites columns of one event behind
    the app's back."""

    def rewrite(seq: int, chain: str = "firm", **columns) -> None:
        assignments = ", ".join(f"{name} = %s" for name in columns)
        run_sql_around_trigger(
            f"UPDATE {EVENTS} SET {assignments} WHERE chain = %s AND seq = %s",  # noqa: S608
            [*columns.values(), chain, seq],
        )

    return rewrite


@pytest.fixture
def remove(run_sql_around_trigger) -> Callable[[int], None]:
    """``remove(seq, chain="firm")`` deletes one event behind the app's back."""

    def delete(seq: int, chain: str = "firm") -> None:
        run_sql_around_trigger(
            f"DELETE FROM {EVENTS} WHERE chain = %s AND seq = %s",  # noqa: S608
            [chain, seq],
        )

    return delete


@pytest.fixture
def record_events(db) -> Callable[[int], list[AuditEvent]]:
    """``record_events(n)`` appends n events ("test.event", object ids 1..n)."""

    def record(n: int, action: str = "test.event") -> list[AuditEvent]:
        return [
            audit_record(action=action, object_type="tests.thing", object_id=str(i), after={"i": i})
            for i in range(1, n + 1)
        ]

    return record


def seal_lines(path) -> list[dict]:
    """The seals of a seal file, parsed."""
    import json

    return [json.loads(line) for line in path.read_text().splitlines()]


def account_events(account_id: int, n: int) -> None:
    """``n`` events on the chain of trading account ``account_id``."""
    for i in range(n):
        audit_record(action="test.event", object_id=str(i), account_id=account_id)


@pytest.fixture
def thin_stock(monkeypatch):
    """The demos' thin stock quoted, and the instrument master's cache cleared when it is
    imported (it is cleared on commit, which a test's transaction never reaches)."""
    from marketdata import demo as marketdata_demo
    from marketdata.selectors import instrument_specs_cache
    from orders.tests.fixtures import quote

    quote(marketdata_demo.THIN, bid="250.00", ask="250.10", prev="250.00")
    importer = marketdata_demo.instruments_import

    def imported_then_cleared(**kwargs):
        result = importer(**kwargs)
        instrument_specs_cache.clear()
        return result

    monkeypatch.setattr(marketdata_demo, "instruments_import", imported_then_cleared)


@pytest.fixture
def demo_officers(user_in_role):
    """The demo's two compliance officers: ``compliance`` and ``compliance2`` (the KYC
    demo's checker and maker, the cases demo's first and second officer)."""
    return user_in_role("Compliance Officer", "compliance"), user_in_role(
        "Compliance Officer", "compliance2"
    )
