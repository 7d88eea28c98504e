"""Property: whatever the events of three months on three chains (clock skew included),
archiving and releasing the months in order keeps the trail verifiable, loses no event and
restores every released one as it was."""

import datetime as dt

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.models import AuditEvent
from compliance.retention.archive import archive_month
from compliance.retention.errors import ArchiveRefused
from compliance.retention.release import archive_release
from compliance.retention.restore import archive_restore, restored_rows
from compliance.tests.retention_fixtures import events_at
from compliance.verify import audit_verify

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("archive_dir"),
    # Each example rolls back its transaction; with an owner URL the PostgreSQL release
    # commits in a session of its own (test_retention_pg.py covers that path).
    pytest.mark.skipif(
        bool(django_settings.DATABASE_MIGRATION_URL),
        reason="examples roll back; the owner's release commits in its own session",
    ),
]
START = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
CHAINS = (None, 101, 102)  # the firm's, two accounts'

events = st.lists(
    st.tuples(st.sampled_from(CHAINS), st.integers(min_value=0, max_value=89 * 24)),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=events)
def test_months_released_in_order_lose_nothing_and_restore_as_they_were(archive_officers, events):
    officer = archive_officers[0]
    with transaction.atomic():
        for account_id, hours in events:  # in list order: occurred_at may go backwards
            events_at(START + dt.timedelta(hours=hours), 1, account_id=account_id)
        every = list(AuditEvent.objects.order_by("chain", "seq").values())
        released = []
        for month in ("2020-01", "2020-02", "2020-03"):
            try:
                run = archive_month(kind="audit_events", month=month, actor=officer)
            except ArchiveRefused as refused:  # a month left with no events of its own
                if "it has no records" not in refused.detail:
                    raise
                continue
            run = archive_release(run=run, actor=officer)
            archive_restore(run=run, actor=officer)
            released += restored_rows(run, AuditEvent)
            result = audit_verify()
            assert result.ok, str(result)
        online = list(AuditEvent.objects.filter(pk__in=[e["id"] for e in every]).values())
        key = lambda row: (row["chain"], row["seq"])  # noqa: E731
        assert sorted(released + online, key=key) == every
        assert not online  # every event occurred before April: all of them released
        transaction.set_rollback(True)
