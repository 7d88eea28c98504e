"""The NSE calendar: maintained holidays, sessions to the second, and the demo clock."""

from datetime import date, datetime

import pytest

from marketdata import calendar
from marketdata.calendar import IST, Session


def at(*args) -> datetime:
    return datetime(*args, tzinfo=IST)


@pytest.mark.parametrize(
    ("day", "trading"),
    [
        (date(2026, 1, 26), False),  # Republic Day
        (date(2026, 10, 2), False),  # Gandhi Jayanti
        (date(2026, 12, 25), False),  # Christmas
        (date(2026, 11, 21), False),  # a Saturday
        (date(2026, 11, 23), True),  # a Monday
        (date(2026, 1, 27), True),
    ],
)
def test_trading_days_follow_the_nse_calendar(day, trading):
    assert calendar.is_trading_day(day) is trading


@pytest.mark.parametrize(
    ("moment", "session"),
    [
        (at(2026, 11, 23, 8, 59, 59), Session.CLOSED),
        (at(2026, 11, 23, 9, 0), Session.PRE_OPEN),
        (at(2026, 11, 23, 9, 7, 59), Session.PRE_OPEN),
        (at(2026, 11, 23, 9, 8), Session.CLOSED),
        (at(2026, 11, 23, 9, 14, 59), Session.CLOSED),
        (at(2026, 11, 23, 9, 15), Session.NORMAL),
        (at(2026, 11, 23, 15, 29, 59), Session.NORMAL),
        (at(2026, 11, 23, 15, 30), Session.CLOSED),
        (at(2026, 1, 26, 11, 0), Session.CLOSED),  # holiday
    ],
)
def test_session_boundaries(moment, session):
    assert calendar.session_at(moment) == session


def test_times_in_utc_are_read_in_ist():
    from datetime import UTC

    assert calendar.is_open(datetime(2026, 11, 23, 3, 45, tzinfo=UTC))  # 09:15 IST
    assert not calendar.is_open(datetime(2026, 11, 23, 3, 44, tzinfo=UTC))


def test_next_open_skips_weekend_and_holidays():
    assert calendar.next_open(at(2026, 11, 20, 16, 0)) == at(2026, 11, 23, 9, 15)  # Fri -> Mon
    assert calendar.next_open(at(2026, 11, 23, 7, 0)) == at(2026, 11, 23, 9, 15)
    assert calendar.next_open(at(2026, 1, 23, 18, 0)) == at(2026, 1, 27, 9, 15)  # Mon 26th holiday
    moment = at(2026, 11, 23, 10, 0)
    assert calendar.next_open(moment) == moment


def test_previous_and_last_session_day():
    assert calendar.previous_trading_day(date(2026, 1, 27)) == date(2026, 1, 23)
    assert calendar.last_session_day(at(2026, 11, 22, 12, 0)) == date(2026, 11, 20)
    assert calendar.last_session_day(at(2026, 11, 23, 9, 0)) == date(2026, 11, 20)
    assert calendar.last_session_day(at(2026, 11, 23, 9, 15)) == date(2026, 11, 23)


def test_trading_days_range():
    days = calendar.trading_days(date(2026, 1, 22), date(2026, 1, 28))
    assert days == [date(2026, 1, 22), date(2026, 1, 23), date(2026, 1, 27), date(2026, 1, 28)]


def test_demo_clock_opens_every_minute_and_says_so(settings):
    settings.MARKETDATA_ALWAYS_OPEN = True
    sunday_night = at(2026, 11, 22, 23, 30)
    assert calendar.is_open(sunday_night)
    assert calendar.is_trading_day(date(2026, 1, 26))
    assert calendar.session_bounds(date(2026, 11, 22)) == (
        at(2026, 11, 22, 0, 0),
        at(2026, 11, 23, 0, 0),
    )
    status = calendar.market_status(sunday_night)
    assert status["always_open"] is True
    assert "Demo clock" in status["note"]


def test_exchange_hours_overrides_the_demo_clock(settings):
    settings.MARKETDATA_ALWAYS_OPEN = True
    with calendar.exchange_hours():
        assert not calendar.is_open(at(2026, 11, 22, 23, 30))
        assert calendar.session_bounds(date(2026, 11, 23))[0] == at(2026, 11, 23, 9, 15)
    assert calendar.is_open(at(2026, 11, 22, 23, 30))


def test_status_without_demo_clock_has_no_note():
    status = calendar.market_status(at(2026, 11, 23, 10, 0))
    assert status == {
        "session": "normal",
        "is_open": True,
        "next_open": "2026-11-23T10:00:00+05:30",
        "calendar": "XNSE",
        "always_open": False,
    }
