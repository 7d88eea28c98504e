"""Random streams of orders, changes, cancels and quote moves never break the invariants.

After every step: cash equals the ledger, blocked funds equal the open orders' blocks,
filled never exceeds ordered, every position equals the signed sum of its fills, and every
order's status history (from the audit trail) moves only along the state machine.
"""

import contextlib
import itertools
from decimal import Decimal
from itertools import count

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from compliance.models import AuditEvent, Client
from orders.choices import PENDING, TRANSITIONS, WORKING, LedgerKind
from orders.execution import requests_relay
from orders.models import Order, TradingAccount
from orders.paper import paper_on_quotes
from orders.services import (
    IllegalTransition,
    ModifyRejected,
    OrderInputError,
    funds_move,
    order_cancel,
    order_modify,
    order_place,
)
from orders.tests.fixtures import assert_invariants, quote, request
from risk.choices import LimitKind, Scope

pytestmark = pytest.mark.django_db
TICK = Decimal("0.05")
accounts = count(1)


def status_path(order: Order) -> list[str]:
    actions = AuditEvent.objects.filter(
        object_type="orders.order", object_id=str(order.pk)
    ).order_by("seq")
    # Every status move's event records the status it moved to (a change applied to an order
    # the broker has not received yet moves none).
    return [
        after["status"] for after in actions.values_list("after", flat=True) if "status" in after
    ]


class OrderStreams(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        client = Client.objects.create(
            name="Random", pan=f"ABCP{next(accounts):05d}"[:9] + "Z", kyc_status="verified"
        )
        self.account = TradingAccount.objects.create(code=f"SM{client.pk:05d}", client=client)
        funds_move(account=self.account, kind=LedgerKind.DEPOSIT, amount=Decimal("500000.00"))
        self.bid = Decimal("1500.00")
        quote(bid=str(self.bid), ask=str(self.bid + TICK))

    def working(self) -> list[Order]:
        return list(Order.objects.filter(account=self.account, status__in=WORKING - {"AMO"}))

    @rule(
        side=st.sampled_from(["BUY", "SELL"]),
        kind=st.sampled_from(["MARKET", "LIMIT", "SL", "SL-M"]),
        product=st.sampled_from(["CNC", "MIS"]),
        quantity=st.integers(1, 40),
        offset=st.integers(-20, 20),
        ioc=st.booleans(),
    )
    def place(self, side, kind, product, quantity, offset, ioc):
        price = self.bid + offset * TICK
        extra = {}
        if kind in ("LIMIT", "SL"):
            extra["price"] = price
        if kind in ("SL", "SL-M"):
            # A stop above the market for buys, below for sells, with the SL limit beyond it.
            trigger = self.bid + (abs(offset) + 1) * TICK * (1 if side == "BUY" else -1)
            extra["trigger_price"] = trigger
            if kind == "SL":
                extra["price"] = trigger + (2 * TICK if side == "BUY" else -2 * TICK)
        with self.on_commit(execute=True):
            order_place(
                account=self.account,
                request=request(side=side, order_type=kind, product=product, quantity=quantity,
                                validity="IOC" if ioc and kind in ("MARKET", "LIMIT") else "DAY", **extra),
            )  # fmt: skip

    @rule(data=st.data())
    def modify(self, data):
        working = self.working()
        if not working:
            return
        order = data.draw(st.sampled_from(working))
        changes = {"quantity": data.draw(st.integers(1, 60))}
        if order.order_type in ("LIMIT", "SL"):
            changes["price"] = order.price + data.draw(st.integers(-3, 3)) * TICK
        # A refused change (bad input, or refused by the pre-trade checks, such as the order
        # rate when steps run fast) must leave everything as it was; the invariants check that.
        with (
            self.on_commit(execute=True),
            contextlib.suppress(OrderInputError, IllegalTransition, ModifyRejected),
        ):
            order_modify(order=order, **changes)

    @rule(data=st.data(), answered=st.booleans())
    def cancel(self, data, answered):
        """A cancel, answered by the broker at once, or left pending (its task lost) for quotes
        to move and fill meanwhile, until the relay sends it again."""
        working = self.working()
        if not working:
            return
        order = data.draw(st.sampled_from(working))
        with self.on_commit(execute=answered):
            order_cancel(order=order)

    @rule()
    def relay(self):
        # Tasks run inline: every request left unanswered is answered now.
        requests_relay(older_than_seconds=0)
        assert not Order.objects.filter(account=self.account, status__in=PENDING).exists()

    @rule(move=st.integers(-8, 8), bid_qty=st.integers(0, 50), ask_qty=st.integers(0, 50))
    def quote_moves(self, move, bid_qty, ask_qty):
        self.bid = max(Decimal("1400.00"), self.bid + move * TICK)
        q = quote(bid=str(self.bid), ask=str(self.bid + TICK), bid_qty=bid_qty, ask_qty=ask_qty)
        with self.on_commit(execute=True):
            paper_on_quotes(sender=None, quotes={q.instrument: q})

    @invariant()
    def conservation(self):
        assert_invariants(self.account)

    @invariant()
    def statuses_follow_the_state_machine(self):
        for order in Order.objects.filter(account=self.account):
            path = status_path(order)
            assert path[0] in ("ACCEPTED", "AMO", "REJECTED"), path
            for before, after in itertools.pairwise(path):
                assert after in TRANSITIONS[before], (order.pk, path)
            assert path[-1] == order.status


def test_random_order_streams_keep_every_invariant(
    account, django_capture_on_commit_callbacks, set_limit
):
    # Steps run faster than the order rate allows: its refusals would depend on the clock,
    # which Hypothesis cannot replay.
    set_limit(Scope.FIRM, LimitKind.ORDER_RATE_PER_SECOND, Decimal(1_000_000))
    OrderStreams.on_commit = staticmethod(django_capture_on_commit_callbacks)
    run_state_machine_as_test(
        OrderStreams,
        settings=settings(
            max_examples=25, stateful_step_count=25, deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )  # fmt: skip
