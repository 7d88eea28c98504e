"""Legal holds as what they cover: the audit chains and objects of held clients and cases,
and the two refusals every kind's month selection shares (holds, month order).

A hold on a client covers its trading accounts' chains and the events about the client;
a hold on a case covers the case's subject (its client) the same way, and the case itself.
"""

import datetime as dt

from compliance.chain import account_chain
from compliance.retention.models import LegalHold


def _active():
    return LegalHold.objects.filter(released_at__isnull=True).select_related("case")


def held_clients() -> dict[int, LegalHold]:
    """Client id -> the hold (on it, or on a case about it) in force."""
    held = {}
    for hold in _active():
        client_id = hold.client_id or (hold.case.client_id if hold.case else None)
        if client_id:
            held.setdefault(client_id, hold)
    return held


def held_chains() -> dict[str, LegalHold]:
    """Audit chain -> the hold in force on its account's client."""
    from orders.models import TradingAccount

    clients = held_clients()
    accounts = TradingAccount.objects.filter(client_id__in=list(clients)).values_list(
        "pk", "client_id"
    )
    return {account_chain(pk): clients[client_id] for pk, client_id in accounts}


def held_objects() -> dict[tuple[str, str], LegalHold]:
    """(object_type, object_id) of audit events -> the hold in force that covers them."""
    objects = {("compliance.client", str(pk)): hold for pk, hold in held_clients().items()}
    for hold in _active().filter(case__isnull=False):
        objects.setdefault(("compliance.case", str(hold.case_id)), hold)
    return objects


def held_refusals(rows, client_field: str, what: str) -> list[str]:
    """``what`` of each held client among ``rows`` (its client at ``client_field``)."""
    return [
        f"{what} of client {client_id} are under {hold.described}"
        for client_id, hold in sorted(held_clients().items())
        if rows.filter(**{client_field: client_id}).exists()
    ]


def earlier_refusals(rows, field: str, start, floor, what: str) -> list[str]:
    """Months go in order: ``what`` of a month before ``start`` (and after ``floor``, the
    last archived month's end) still unarchived refuses this one."""
    from marketdata.calendar import IST

    earlier = rows.filter(**{f"{field}__lt": start})
    if floor is not None:
        earlier = earlier.filter(**{f"{field}__gte": floor})
    first = earlier.order_by(field).values_list(field, flat=True).first()
    if first is None:
        return []
    month = first.astimezone(IST) if isinstance(first, dt.datetime) else first
    return [f"{what} of {month:%Y-%m} are not archived yet: archive that month first"]
