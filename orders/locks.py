"""The trading spine's row locks, taken by every writer in one fixed order.

1. the trading account (one, or several in ascending id);
2. the algo ID's advisory lock (``algo``), when the write counts an algo's orders;
3. the orders (ascending id), then their outbox rows and paper-exchange rows;
4. positions, then holdings;
5. the audit chains' rows, last, taken only by ``compliance.services``: the events of a
   spine transaction are appended when its work is done, one chain at a time by key.

Every lock is ``SELECT ... FOR UPDATE OF <the row's own table>``: a joined Client or
Instrument is read, never locked, so no two accounts ever queue on a shared row.

Nothing waits on I/O (quotes, the broker, e-mail) while holding these locks: read what
needs I/O before :func:`spine_transaction`, or leave it to ``on_commit``.

A transaction that writes an account's audit chain (``account:<id>``) takes the account's
lock first, even when it changes no row of the account: the foreign-key checks PostgreSQL
defers to COMMIT take a KEY SHARE lock on the account row, after the chain's row is held,
and would deadlock against a placement holding the account and waiting for its chain
(``risk/tests/test_spine_race.py`` found exactly that).

On PostgreSQL every connection runs with ``lock_timeout`` (``DATABASE_LOCK_TIMEOUT_MS``,
set once per connection in the settings, so it costs no statement). A lock not granted in
time, or a deadlock PostgreSQL broke, rolls the transaction back; :func:`spine_transaction`
retries it a few times with jitter and then raises :class:`AccountBusy`, which the API
answers 503 ``account-busy`` with ``Retry-After``.
"""

import functools
import logging
import random
import time
from collections.abc import Callable, Iterable
from typing import ParamSpec, TypeVar

from django.db import OperationalError, connection
from prometheus_client import Counter

from compliance.services import audited_atomic
from orders.models import Holding, Order, OrderOutbox, PaperOrder, Position, TradingAccount
from orders.selectors import CLIENT_SECRETS
from tradingsite.errors import DomainError

logger = logging.getLogger(__name__)

RETRIES = 3
BACKOFF_SECONDS = 0.02
#: PostgreSQL SQLSTATEs of a lock not granted in time and of a deadlock broken by the server.
RETRYABLE = {"55P03": "lock_timeout", "40P01": "deadlock"}
RETRIES_TOTAL = Counter(
    "orders_lock_retries_total",
    "Spine transactions rolled back and retried, by cause (a deadlock is a defect)",
    ["cause"],
)
SELF = ("self",)
P = ParamSpec("P")
R = TypeVar("R")


class AccountBusy(DomainError):
    """The account's rows stayed locked by other work past the lock timeout, retries and all."""

    problem_type = "account-busy"
    retry_after = 1


def _retryable(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "pgcode", None) in RETRYABLE


def spine_transaction(work: Callable[P, R]) -> Callable[P, R]:
    """Run ``work`` in one transaction that takes spine locks, retried on a lock timeout or
    deadlock. Inside an outer transaction it joins that one (the outermost retries). Its
    audit events are appended together at its end (``compliance.services.audited_atomic``)."""

    @functools.wraps(work)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        if connection.in_atomic_block:
            with audited_atomic():
                return work(*args, **kwargs)
        for attempt in range(RETRIES + 1):
            try:
                with audited_atomic():
                    return work(*args, **kwargs)
            except OperationalError as exc:
                if not _retryable(exc):
                    raise
                cause = RETRYABLE[exc.__cause__.pgcode]
                RETRIES_TOTAL.labels(cause).inc()
                level = logging.ERROR if cause == "deadlock" else logging.WARNING
                logger.log(level, "%s: %s (attempt %s)", work.__qualname__, cause, attempt + 1)
                if attempt == RETRIES:
                    raise AccountBusy(
                        "The account is busy with other work; nothing was changed. "
                        "Retry in a moment."
                    ) from exc
                time.sleep(BACKOFF_SECONDS * (2**attempt) * (1 + random.random()))  # noqa: S311
        raise AssertionError("unreachable")

    return run


def account(pk: int) -> TradingAccount:
    """Lock one trading account (first, before anything else of it); its client is read
    with it, not locked.

    Read what other transactions may have written under this lock in a later statement:
    a statement that waited for the lock still sees the data as it was when it began."""
    return (
        TradingAccount.objects.select_for_update(of=SELF)
        .select_related("client")
        .defer(*CLIENT_SECRETS)
        .get(pk=pk)
    )


def accounts(pks: Iterable[int]) -> list[TradingAccount]:
    """Lock several trading accounts, in ascending id."""
    return list(
        TradingAccount.objects.select_for_update(of=SELF).filter(pk__in=set(pks)).order_by("pk")
    )


def account_and_order(order_pk: int, account_pk: int) -> tuple[TradingAccount, Order]:
    """Lock an order's account, then the order (its instrument loaded, not locked)."""
    locked_account = account(account_pk)
    locked = Order.objects.select_for_update(of=SELF).select_related("instrument").get(pk=order_pk)
    return locked_account, locked


def orders(pks: Iterable[int]) -> list[Order]:
    """Lock orders of accounts already locked, in ascending id."""
    return list(
        Order.objects.select_for_update(of=SELF)
        .select_related("instrument")
        .filter(pk__in=set(pks))
        .order_by("pk")
    )


def outbox(order_pk: int) -> OrderOutbox | None:
    return OrderOutbox.objects.select_for_update(of=SELF).filter(order_id=order_pk).first()


def paper_order(**lookup) -> PaperOrder:
    return PaperOrder.objects.select_for_update(of=SELF).get(**lookup)


def position(*, account_pk: int, instrument_pk: int, product: str) -> Position:
    """Lock (creating it if need be) the account's position in one instrument and product."""
    found = (
        Position.objects.select_for_update(of=SELF)
        .filter(account_id=account_pk, instrument_id=instrument_pk, product=product)
        .first()
    )
    if found is None:  # the account lock is held, so nobody else creates it meanwhile
        found = Position.objects.create(
            account_id=account_pk, instrument_id=instrument_pk, product=product
        )
    return found


def positions_moved(*, account_pk: int) -> list[Position]:
    """Lock the account's positions that traded in the session (end of day), by id."""
    return list(
        Position.objects.select_for_update(of=SELF)
        .filter(account_id=account_pk)
        .exclude(day_buy_quantity=0, day_sell_quantity=0)
        .order_by("pk")
    )


def holding(*, account_pk: int, instrument_pk: int) -> Holding:
    found = (
        Holding.objects.select_for_update(of=SELF)
        .filter(account_id=account_pk, instrument_id=instrument_pk)
        .first()
    )
    if found is None:
        found = Holding.objects.create(account_id=account_pk, instrument_id=instrument_pk)
    return found


def algo(algo_id: str) -> None:
    """Serialise, until the transaction ends, everyone counting or halting this algo ID's
    orders across accounts: after the account lock, before the orders. A PostgreSQL
    advisory lock; SQLite runs one writing transaction at a time already."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"risk:algo:{algo_id}"])
