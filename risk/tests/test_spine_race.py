"""The whole spine racing on PostgreSQL: placements, cancels, fills, kill-switch trips and
resets on several accounts at once, round after round. No deadlock (PostgreSQL's own
count), nothing refused for lock contention, and every invariant holds: cash equals the
ledger, blocks equal the open orders', positions equal their fills, the audit trail
verifies, and no order covered by a tripped halt is still working once the trip returns."""

import contextlib
import random
import threading
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection, connections

from compliance.models import Client
from compliance.verify import audit_verify
from conftest import require
from orders.choices import WORKING, LedgerKind
from orders.execution import execution_cancel, execution_submit
from orders.models import Order, TradingAccount
from orders.services import (
    FillRejected,
    IllegalTransition,
    fill_apply,
    funds_move,
    order_cancel,
    order_place,
)
from orders.tests.fixtures import assert_invariants, request
from risk.choices import KillSwitchLevel, LimitKind, Scope
from risk.models import KillSwitch
from risk.services import kill_switch_reset, kill_switch_trip

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROUNDS = 20
ACCOUNTS = 4


def _deadlocks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def _accounts(first: TradingAccount) -> list[TradingAccount]:
    accounts = [first]
    for n in range(2, ACCOUNTS + 1):
        client = Client.objects.create(name=f"R{n}", pan=f"ABCPR{n:04d}K", kyc_status="verified")
        accounts.append(TradingAccount.objects.create(code=f"TS{n:04d}", client=client))
        funds_move(account=accounts[-1], kind=LedgerKind.DEPOSIT, amount=Decimal("1000000.00"))
    return accounts


def test_trips_resets_placements_cancels_and_fills_race_without_deadlock(
    account, set_limit, risk_managers
):
    require(connection.vendor == "postgresql", "PostgreSQL: SQLite cannot show a race")
    set_limit(Scope.FIRM, LimitKind.ORDER_RATE_PER_SECOND, Decimal(10_000))  # not the throttle
    tripper, resetter = risk_managers
    accounts = _accounts(account)
    deadlocks_before = _deadlocks()
    errors: list[BaseException] = []
    still_working: list[str] = []

    def guarded(work):
        def run(*args) -> None:
            try:
                work(*args)
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)
            finally:
                connections.close_all()

        return run

    def place(target: TradingAccount, round_: int, seed: int) -> None:
        rng = random.Random(seed)
        for n in range(4):
            side = rng.choice(["BUY", "SELL"])
            order_place(
                account=target,
                request=request(
                    side=side, product="MIS", order_type="LIMIT", quantity=1,
                    price=Decimal("1499.00") if side == "BUY" else Decimal("1501.00"),
                    algo_id="RACE" if n % 2 else "", client_order_id=f"r{round_}-{seed}-{n}",
                ),
            )  # fmt: skip

    def cancel_some(seed: int) -> None:
        rng = random.Random(seed)
        working = _working()
        for pk in rng.sample(working, k=min(3, len(working))):
            with contextlib.suppress(IllegalTransition):  # cancelled or filled meanwhile
                order_cancel(order=Order.objects.get(pk=pk), reason="race")

    def fill_some(round_: int, seed: int) -> None:
        rng = random.Random(seed)
        resting = list(Order.objects.filter(status="OPEN").values_list("pk", flat=True))
        for pk in rng.sample(resting, k=min(3, len(resting))):
            # no longer working (cancelled meanwhile), or not yet at the broker
            with contextlib.suppress(FillRejected, IllegalTransition):
                fill_apply(
                    order=Order.objects.get(pk=pk), broker_fill_id=f"race-{round_}-{pk}",
                    quantity=1, price=Decimal("1500.00"),
                )  # fmt: skip

    def trip_and_reset(target: TradingAccount, level: str) -> None:
        switch, _ = kill_switch_trip(
            level=level,
            reason="race",
            actor=tripper,
            account=target if level == "account" else None,
        )
        covered = Order.objects.filter(status__in=WORKING)
        if level == KillSwitchLevel.ACCOUNT:
            covered = covered.filter(account=target)
        if covered.exists():  # a placement slipped past the trip
            still_working.append(f"{switch}: {list(covered.values_list('pk', 'status'))}")
        kill_switch_reset(switch=switch, actor=resetter)

    # Each submission runs in the placing thread once it commits: the orders rest OPEN at the
    # paper exchange (their prices are not marketable), where the fills below find them. Each
    # cancel is sent to the broker, and its answer recorded, in the cancelling thread likewise.
    with (
        mock.patch("orders.tasks.submit_order.delay", side_effect=execution_submit),
        mock.patch("orders.tasks.cancel_at_broker.delay", side_effect=execution_cancel),
    ):
        for round_ in range(ROUNDS):
            rng = random.Random(round_)
            level = KillSwitchLevel.GLOBAL if round_ % 5 == 4 else KillSwitchLevel.ACCOUNT
            threads = [
                threading.Thread(target=guarded(place), args=(target, round_, round_ * 10 + i))
                for i, target in enumerate(accounts)
            ]
            threads += [
                threading.Thread(target=guarded(cancel_some), args=(round_,)),
                threading.Thread(target=guarded(fill_some), args=(round_, round_)),
                threading.Thread(
                    target=guarded(trip_and_reset), args=(rng.choice(accounts), level)
                ),
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
            assert not [t for t in threads if t.is_alive()], f"round {round_} hung"
            assert errors == [], f"round {round_}: {errors!r}"

    assert _deadlocks() == deadlocks_before, "PostgreSQL broke a deadlock"
    assert still_working == []
    assert not KillSwitch.objects.filter(reset_at__isnull=True).exists()
    assert Order.objects.count() == ROUNDS * ACCOUNTS * 4
    assert Order.objects.filter(status="REJECTED", rejection_reasons__0__code="KILL_SWITCH")
    for target in accounts:
        assert_invariants(target)
    result = audit_verify()
    assert result.ok, str(result)


def _working() -> list[int]:
    return list(Order.objects.filter(status__in=WORKING).values_list("pk", flat=True))
