"""What the ``orders`` and ``ledger`` kinds archive of a month.

``orders``: the orders placed in it (IST), with their
fills, the ledger entries they posted, their outbox rows and paper-exchange rows, whenever
those happened. Refused while any of the month's orders is still working (not in a terminal
status), while an earlier month's orders are not archived, and under a legal hold on the
client of any of their accounts. ``ledger``: the ledger entries of no order and no fill
(deposits, withdrawals, charges) posted in the month, under the same rules of order and
holds. Released by ``compliance.retention.release``, which carries the ledger forward."""

import datetime as dt

from django.db.models import Q, QuerySet

from compliance.retention.holds import earlier_refusals, held_refusals
from compliance.retention.models import ArchiveRun, month_after

OPEN_EXAMPLES = 5


def orders_selection(
    month: dt.date, start: dt.datetime, end: dt.datetime, floor: dt.datetime | None
) -> tuple[dict[str, QuerySet], list[str]]:
    """Per table, the rows the month archives; and every reason it may not."""
    from orders.choices import TERMINAL
    from orders.models import Fill, LedgerEntry, Order, OrderOutbox, PaperOrder

    reasons = earlier_refusals(Order.objects.all(), "created_at", start, floor, "orders")
    orders = Order.objects.filter(created_at__gte=start, created_at__lt=end)
    working = list(
        orders.exclude(status__in=TERMINAL)
        .order_by("pk")
        .values_list("pk", "status")[: OPEN_EXAMPLES + 1]
    )
    if working:
        named = ", ".join(f"order {pk} {status}" for pk, status in working[:OPEN_EXAMPLES])
        more = " and more" if len(working) > OPEN_EXAMPLES else ""
        reasons.append(f"orders of the month are still working: {named}{more}")
    reasons += held_refusals(orders, "account__client_id", "orders")
    fills = Fill.objects.filter(order__in=orders)
    return {
        Order._meta.db_table: orders,
        Fill._meta.db_table: fills,
        LedgerEntry._meta.db_table: LedgerEntry.objects.filter(
            Q(order__in=orders) | Q(fill__in=fills)
        ),
        OrderOutbox._meta.db_table: OrderOutbox.objects.filter(order__in=orders),
        PaperOrder._meta.db_table: PaperOrder.objects.filter(order__in=orders),
    }, reasons


def ledger_selection(
    month: dt.date, start: dt.datetime, end: dt.datetime, floor: dt.datetime | None
) -> tuple[dict[str, QuerySet], list[str]]:
    """The month's ledger entries of no order; every reason they may not be archived."""
    from orders.models import LedgerEntry

    own = LedgerEntry.objects.filter(order__isnull=True, fill__isnull=True)
    reasons = earlier_refusals(own, "posted_at", start, floor, "ledger entries")
    entries = own.filter(posted_at__gte=start, posted_at__lt=end)
    reasons += held_refusals(entries, "account__client_id", "ledger entries")
    return {LedgerEntry._meta.db_table: entries}, reasons


def kind_floor(kind: str, bounds_of_month) -> dt.datetime | None:
    """The first instant after the last month of ``kind`` archived (None: none archived)."""
    last = ArchiveRun.objects.filter(kind=kind).order_by("-month").first()
    return bounds_of_month(month_after(last.month))[0] if last else None
