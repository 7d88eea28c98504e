"""Pieces the report kinds share: the chunk size, a date range as IST instants, batching.

Dates in a register's filters are trading days in India: ``date_from`` .. ``date_to`` covers
IST midnight of the first to IST midnight after the last.
"""

from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import islice
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from compliance.reports.registers.base import ReportParams

IST = ZoneInfo("Asia/Kolkata")
#: Rows read from the database at a time.
CHUNK = 2000

T = TypeVar("T")


def batched(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def ist_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=IST)


def instants(params: ReportParams) -> tuple[datetime | None, datetime | None]:
    """The filters' dates as [start, end) instants (IST midnights); ``None`` where unset."""
    start = ist_start(params.date_from) if params.date_from else None
    end = ist_start(params.date_to + timedelta(days=1)) if params.date_to else None
    return start, end


def in_period(field: str, params: ReportParams) -> dict[str, datetime]:
    """Queryset lookups keeping ``field`` (a datetime) within the filters' dates."""
    start, end = instants(params)
    lookups = {}
    if start:
        lookups[f"{field}__gte"] = start
    if end:
        lookups[f"{field}__lt"] = end
    return lookups


def on_days(field: str, params: ReportParams) -> dict[str, date]:
    """Queryset lookups keeping ``field`` (a date) within the filters' dates."""
    lookups = {}
    if params.date_from:
        lookups[f"{field}__gte"] = params.date_from
    if params.date_to:
        lookups[f"{field}__lte"] = params.date_to
    return lookups


def charge(charges: dict[str, Any], key: str) -> Decimal:
    """One charge of a fill's stored breakdown (rupees as strings), as a Decimal."""
    return Decimal(str(charges.get(key, "0")))


def reads(*kinds: str) -> Callable[[ReportParams], list[str]]:
    """A register's ``released`` check: it reads these record kinds from the online tables,
    so a period reaching a month archives released is refused."""

    def released(params: ReportParams) -> list[str]:
        from compliance.retention.released import released_refusals

        return released_refusals(kinds, params.date_from, params.date_to)

    return released
