"""Reports over what archives released from the online tables are refused, not shown short.

A register reading a record kind asks :func:`released_refusals` whether any month of its
period has been released (the rows are then only in the archive: ``archive_restore``
reloads them, read-only). A ledger statement asks :func:`ledger_refusals` instead: it may
start after the released postings (their sum is carried forward into its opening
balance), not among them.
"""

from compliance.retention.models import ArchiveRun, ArchiveStatus

SHOWN = 3


def released_refusals(kinds: tuple[str, ...], date_from, date_to) -> list[str]:
    """Why a report of ``kinds`` from ``date_from`` to ``date_to`` (either may be None)
    cannot be made from the online tables: each released month it reaches into."""
    runs = ArchiveRun.objects.filter(kind__in=kinds, status=ArchiveStatus.RELEASED)
    if date_from is not None:
        runs = runs.filter(month__gte=date_from.replace(day=1))
    if date_to is not None:
        runs = runs.filter(month__lte=date_to)
    return [
        f"{run.get_kind_display()} of {run.month:%Y-%m} have left the online tables "
        f"(archive run {run.pk}): restore it (archive_restore {run.pk}) to report on that month"
        for run in runs.order_by("month", "kind")[:SHOWN]
    ]


def ledger_refusals(account_ids, start) -> list[str]:
    """Why a ledger statement of ``account_ids`` (None: every account) from ``start`` would
    miss postings: the latest release of them on or after ``start``."""
    from marketdata.calendar import IST
    from orders.selectors import ledger_released_from

    released = ledger_released_from(account_ids=account_ids, since=start)
    if released is None:
        return []
    last = released.last_posted_at.astimezone(IST)
    return [
        f"ledger entries of account {released.account_id} up to {last:%Y-%m-%d} have left the "
        f"online tables (archive run {released.archive_run_id}): start the statement after "
        f"{last:%Y-%m-%d}, or restore the archive to read them"
    ]
