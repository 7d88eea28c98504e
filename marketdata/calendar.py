"""The NSE trading calendar: trading days, sessions and their times in IST.

Holidays come from pandas-market-calendars' XNSE calendar, a maintained list, not a
hand-typed one. Sessions: pre-open order entry 09:00-09:08 and the normal market
09:15-15:30 IST, Monday to Friday, except exchange holidays.

``MARKETDATA_ALWAYS_OPEN=true`` (the demo sets it) treats every minute of every day as
the normal session, so the demo trades on weekends and at night. ``market_status()``
says so, and the API shows it.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.utils import timezone

IST = ZoneInfo("Asia/Kolkata")
PRE_OPEN_START, PRE_OPEN_END = time(9, 0), time(9, 8)
MARKET_OPEN, MARKET_CLOSE = time(9, 15), time(15, 30)
CALENDAR_NAME = "XNSE"


class Session(models.TextChoices):
    PRE_OPEN = "pre_open", "Pre-open order entry"
    NORMAL = "normal", "Normal market"
    CLOSED = "closed", "Closed"


_exchange_hours_only: ContextVar[bool] = ContextVar("exchange_hours_only", default=False)


def always_open() -> bool:
    return settings.MARKETDATA_ALWAYS_OPEN and not _exchange_hours_only.get()


@contextmanager
def exchange_hours() -> Iterator[None]:
    """Use the real NSE calendar inside this block even when the demo clock is on
    (history is generated for real sessions)."""
    token = _exchange_hours_only.set(True)
    try:
        yield
    finally:
        _exchange_hours_only.reset(token)


@lru_cache(maxsize=64)
def _trading_days_of_year(year: int) -> frozenset[date]:
    import pandas_market_calendars as pmc

    schedule = pmc.get_calendar(CALENDAR_NAME).schedule(f"{year}-01-01", f"{year}-12-31")
    return frozenset(day.date() for day in schedule.index)


def is_trading_day(day: date) -> bool:
    return always_open() or day in _trading_days_of_year(day.year)


def trading_days(start: date, end: date) -> list[date]:
    """Trading days from ``start`` to ``end``, both included."""
    days, day = [], start
    while day <= end:
        if is_trading_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def previous_trading_day(day: date) -> date:
    """The last trading day strictly before ``day``."""
    day -= timedelta(days=1)
    while not is_trading_day(day):
        day -= timedelta(days=1)
    return day


def next_trading_day(day: date) -> date:
    """The first trading day strictly after ``day``."""
    day += timedelta(days=1)
    while not is_trading_day(day):
        day += timedelta(days=1)
    return day


def session_bounds(day: date) -> tuple[datetime, datetime]:
    """Open and close of the normal session on ``day`` (IST); the whole day on the demo clock."""
    if always_open():
        start = datetime.combine(day, time(0, 0), IST)
        return start, start + timedelta(days=1)
    return datetime.combine(day, MARKET_OPEN, IST), datetime.combine(day, MARKET_CLOSE, IST)


def session_at(moment: datetime | None = None) -> Session:
    """Which session is running at ``moment`` (default: now)."""
    if always_open():
        return Session.NORMAL
    local = timezone.localtime(moment or timezone.now(), IST)
    if not is_trading_day(local.date()):
        return Session.CLOSED
    clock = local.time()
    if MARKET_OPEN <= clock < MARKET_CLOSE:
        return Session.NORMAL
    if PRE_OPEN_START <= clock < PRE_OPEN_END:
        return Session.PRE_OPEN
    return Session.CLOSED


def is_open(moment: datetime | None = None) -> bool:
    """True during the normal market session."""
    return session_at(moment) == Session.NORMAL


def next_open(moment: datetime | None = None) -> datetime:
    """The next start of a normal session after ``moment`` (now if it is open)."""
    moment = moment or timezone.now()
    if is_open(moment):
        return moment
    day = timezone.localtime(moment, IST).date()
    if is_trading_day(day) and timezone.localtime(moment, IST).time() < MARKET_OPEN:
        return session_bounds(day)[0]
    return session_bounds(next_trading_day(day))[0]


def last_session_day(moment: datetime | None = None) -> date:
    """The trading day whose normal session is running now or ended most recently."""
    moment = moment or timezone.now()
    local = timezone.localtime(moment, IST)
    day = local.date()
    if is_trading_day(day) and (always_open() or local.time() >= MARKET_OPEN):
        return day
    return previous_trading_day(day)


def market_status(moment: datetime | None = None) -> dict:
    """What the API and the demo show about the market clock."""
    moment = moment or timezone.now()
    status = {
        "session": session_at(moment).value,
        "is_open": is_open(moment),
        "next_open": timezone.localtime(next_open(moment), IST).isoformat(),
        "calendar": CALENDAR_NAME,
        "always_open": always_open(),
    }
    if always_open():
        status["note"] = (
            "Demo clock: MARKETDATA_ALWAYS_OPEN is on, so every minute is treated as the normal "
            "market session. Real NSE hours are 09:15-15:30 IST on trading days."
        )
    return status
