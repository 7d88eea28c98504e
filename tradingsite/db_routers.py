"""Reads of long reports go to the reporting replica, when there is one.

``with reports_reading(): ...`` marks the block (a context variable, so it holds for the
running task or request only): inside it, every read is routed to the ``reports`` database
alias, if ``DATABASES`` has one (``REPORTS_DATABASE_URL``). Writes always go to ``default``,
inside the block too (a job's progress row, the export's own record), and nothing is ever
migrated on the replica: it follows the primary by replication.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings

REPORTS = "reports"
_reading: ContextVar[bool] = ContextVar("reports_reading", default=False)


def reports_alias() -> str:
    """Where reads inside :func:`reports_reading` go: ``reports`` when it is configured."""
    return REPORTS if REPORTS in settings.DATABASES else "default"


@contextmanager
def reports_reading() -> Iterator[str]:
    """Route this block's reads to the reporting replica; yields the alias they go to."""
    token = _reading.set(True)
    try:
        yield reports_alias()
    finally:
        _reading.reset(token)


class ReportsRouter:
    """``DATABASE_ROUTERS`` entry: reads in :func:`reports_reading` to the replica."""

    def db_for_read(self, model, **hints) -> str | None:
        if _reading.get() and REPORTS in settings.DATABASES:
            return REPORTS
        return None

    def db_for_write(self, model, **hints) -> str:
        return "default"

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        # The replica holds the primary's rows: an object read there relates to one here.
        aliases = {obj1._state.db, obj2._state.db}
        return True if aliases <= {"default", REPORTS} else None

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool | None:
        return False if db == REPORTS else None
