"""The surveillance task is thin and on beat: in session every 5 minutes, at the close with
the whole-day patterns; outside the session and on holidays it does nothing."""

from datetime import UTC, datetime

import pytest
import time_machine

from compliance.tasks import surveillance_run
from ops.schedules import DEFAULT_SCHEDULES

pytestmark = pytest.mark.django_db

SUNDAY = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
TUESDAY_IN_SESSION = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # 11:30 IST
TUESDAY_EVENING = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)  # 18:30 IST


def test_beat_runs_it_in_session_and_at_the_close():
    found = {s.name: s for s in DEFAULT_SCHEDULES if s.task == "compliance.tasks.surveillance_run"}
    assert found["Market-abuse surveillance in session"].crontab == "*/5 9-15 * * 1-5"
    assert found["Market-abuse surveillance at the close"].kwargs == {"close": True}


@pytest.mark.parametrize(
    ("moment", "close"), [(SUNDAY, True), (SUNDAY, False), (TUESDAY_EVENING, False)]
)
def test_outside_the_session_it_does_nothing(settings, moment, close):
    settings.MARKETDATA_ALWAYS_OPEN = False
    with time_machine.travel(moment, tick=False):
        assert surveillance_run(close=close)["raised"] is None


def test_in_session_it_runs_the_intraday_patterns(settings):
    settings.MARKETDATA_ALWAYS_OPEN = False
    with time_machine.travel(TUESDAY_IN_SESSION, tick=False):
        raised = surveillance_run()["raised"]
    assert "wash_trade" in raised
    assert "marking_close" not in raised  # that waits for the close


def test_at_the_close_it_runs_every_pattern(settings):
    settings.MARKETDATA_ALWAYS_OPEN = False
    with time_machine.travel(TUESDAY_EVENING, tick=False):
        raised = surveillance_run(close=True)["raised"]
    assert {"marking_close", "concentration", "wash_trade"} <= set(raised)
