"""Order placement through fills: every order type and product, rejections, funds, positions."""

from decimal import Decimal
from unittest import mock

import pytest

from compliance.models import AuditEvent
from compliance.verify import audit_verify
from orders.charges import charges_for_fill
from orders.choices import LedgerKind, OrderStatus
from orders.eod import holdings_settle, mis_square_off, orders_expire
from orders.models import Fill, Holding, LedgerEntry, Order, PaperOrder, Position
from orders.paper import paper_on_quotes
from orders.rates import brokerage_plans, charge_rates
from orders.services import (
    FillRejected,
    IdempotencyMismatch,
    IllegalTransition,
    OrderInputError,
    fill_apply,
    order_cancel,
    order_modify,
    order_place,
)
from orders.tests.fixtures import assert_invariants, quote, request

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _commits(django_capture_on_commit_callbacks):
    """Run what services leave to on_commit (submission), as a real commit would."""
    global _on_commit
    _on_commit = django_capture_on_commit_callbacks


def place(account, **kwargs) -> Order:
    with _on_commit(execute=True):
        order = order_place(account=account, request=request(**kwargs)).order
    order.refresh_from_db()
    return order


def tick(symbol="INFY", **kwargs) -> None:
    """A quote update from the feed: the paper exchange re-checks resting orders."""
    q = quote(symbol, **kwargs)
    paper_on_quotes(sender=None, quotes={q.instrument: q})


def test_market_buy_fills_at_the_ask_with_the_contract_note_charges(account):
    order = place(account, quantity=10)
    assert (order.status, order.filled_quantity, order.average_price) == (
        "COMPLETE",
        10,
        Decimal("1500.05"),
    )
    fill = order.fills.get()
    expected = charges_for_fill(
        rates=charge_rates(), plans=brokerage_plans(), plan_code="DISCOUNT", trade_date=fill.trade_date,
        exchange="NSE", product="CNC", side="BUY", quantity=10, price=Decimal("1500.05"),
    )  # fmt: skip
    assert fill.charges == expected.as_dict()
    account.refresh_from_db()
    assert account.cash_balance == Decimal("1000000.00") - Decimal("15000.50") - expected.total
    kinds = set(LedgerEntry.objects.filter(fill=fill).values_list("kind", flat=True))
    assert {LedgerKind.TRADE_DEBIT, LedgerKind.STT, LedgerKind.STAMP_DUTY} <= kinds
    position = Position.objects.get(account=account, product="CNC")
    assert (position.quantity, position.average_price) == (10, Decimal("1500.0500"))
    assert_invariants(account)


def test_market_sell_fills_at_the_bid_with_slippage(account, settings):
    settings.PAPER_SLIPPAGE_BPS = Decimal("10")
    place(account, quantity=100)  # buy first: delivery sells need shares
    order = place(account, side="SELL", quantity=100)
    # bid 1500.00 less 10 bps = 1498.50, rounded down to the tick
    assert (order.status, order.average_price) == ("COMPLETE", Decimal("1498.5000"))
    assert_invariants(account)


def test_limit_buy_rests_until_marketable_then_fills_at_the_touch(account):
    order = place(account, order_type="LIMIT", price=Decimal("1490.00"), quantity=20)
    assert order.status == "OPEN"
    assert order.blocked_amount == Decimal("29800.00")
    tick(bid="1489.00", ask="1489.50")
    order.refresh_from_db()
    assert (order.status, order.average_price, order.blocked_amount) == (
        "COMPLETE",
        Decimal("1489.5000"),
        0,
    )
    assert_invariants(account)


def test_partial_fills_follow_the_quoted_size(account):
    quote(ask_qty=3)
    order = place(account, quantity=10)
    assert order.status == "PARTIALLY_FILLED"
    assert 0 < order.filled_quantity <= 3
    for _ in range(10):
        tick(ask_qty=3)
    order.refresh_from_db()
    assert (order.status, order.filled_quantity) == ("COMPLETE", 10)
    assert order.fills.count() > 3
    assert_invariants(account)


def test_ioc_cancels_the_unfilled_rest(account):
    quote(ask_qty=4)
    order = place(account, validity="IOC", quantity=10)
    assert order.status == "CANCELLED"
    assert 0 < order.filled_quantity <= 4
    assert order.blocked_amount == 0
    assert PaperOrder.objects.get(order=order).status == "cancelled"
    assert_invariants(account)


def test_stop_market_sell_triggers_on_a_falling_price(account):
    place(account, quantity=50)
    stop = place(
        account, side="SELL", order_type="SL-M", trigger_price=Decimal("1480.00"), quantity=50
    )
    assert stop.status == "TRIGGER_PENDING"
    tick(bid="1485.00", ask="1485.05")
    stop.refresh_from_db()
    assert stop.status == "TRIGGER_PENDING"
    tick(bid="1479.50", ask="1479.55")
    stop.refresh_from_db()
    assert (stop.status, stop.average_price) == ("COMPLETE", Decimal("1479.5000"))
    assert_invariants(account)


def test_stop_limit_buy_triggers_then_waits_for_its_price(account):
    stop = place(
        account, order_type="SL", trigger_price=Decimal("1510.00"), price=Decimal("1511.00")
    )
    tick(bid="1512.00", ask="1512.05", last="1512.00")  # triggered, but the ask is above the limit
    stop.refresh_from_db()
    assert stop.status == "OPEN"
    tick(bid="1510.50", ask="1510.55")
    stop.refresh_from_db()
    assert (stop.status, stop.average_price) == ("COMPLETE", Decimal("1510.5500"))


def test_intraday_round_trip_realizes_pnl_into_the_ledger(account):
    place(account, product="MIS", quantity=100)
    quote(bid="1510.00", ask="1510.05")
    place(account, side="SELL", product="MIS", quantity=100)
    position = Position.objects.get(account=account, product="MIS")
    # bought at 1500.05, sold at 1510.00: 9.95 x 100
    assert (position.quantity, position.realized_pnl) == (0, Decimal("995.00"))
    pnl = LedgerEntry.objects.get(account=account, kind=LedgerKind.REALIZED_PNL)
    assert pnl.amount == Decimal("995.00")
    assert not LedgerEntry.objects.filter(account=account, kind=LedgerKind.TRADE_DEBIT).exists()
    assert_invariants(account)


def test_intraday_position_keeps_its_margin(account):
    from orders.selectors import funds_of

    place(account, product="MIS", quantity=1000)
    funds = funds_of(account, on=Order.objects.get().session_date)
    assert funds["margin_used"] == Decimal("300010.00")  # 1000 x 1500.05 x 20 %
    assert funds["available"] == funds["cash"] - funds["margin_used"]


@pytest.mark.parametrize(
    ("setup", "kwargs", "code"),
    [
        (
            lambda a: a.client.__class__.objects.filter(pk=a.client_id).update(
                kyc_status="pending"
            ),
            {},
            "KYC_NOT_VERIFIED",
        ),
        (
            lambda a: a.__class__.objects.filter(pk=a.pk).update(status="suspended"),
            {},
            "ACCOUNT_NOT_ACTIVE",
        ),
        (None, {"quantity": 1000}, "INSUFFICIENT_FUNDS"),
        (None, {"side": "SELL", "quantity": 5}, "INSUFFICIENT_HOLDINGS"),
        (None, {"symbol": "SMALLCAP", "quantity": 501}, "FREEZE_QUANTITY"),
        (
            None,
            {"symbol": "SMALLCAP", "order_type": "LIMIT", "price": Decimal("106.00")},
            "PRICE_BAND",
        ),
    ],
)
def test_rejections_are_stored_with_their_reason(account, setup, kwargs, code):
    if setup:
        setup(account)
    order = place(account, **kwargs)
    assert order.status == "REJECTED"
    assert code in [r["code"] for r in order.rejection_reasons]
    assert order.blocked_amount == 0
    assert not hasattr(order, "outbox") or order.outbox is None
    assert AuditEvent.objects.filter(action="order.rejected", object_id=str(order.pk)).exists()
    assert_invariants(account)


def test_every_reason_is_reported_not_only_the_first(account):
    account.client.__class__.objects.filter(pk=account.client_id).update(kyc_status="rejected")
    order = place(account, side="SELL", quantity=1000)
    assert {r["code"] for r in order.rejection_reasons} == {
        "KYC_NOT_VERIFIED",
        "INSUFFICIENT_HOLDINGS",
    }


def test_price_band_limits_are_reported(account):
    order = place(account, symbol="SMALLCAP", order_type="LIMIT", price=Decimal("94.95"))
    band = next(r for r in order.rejection_reasons if r["code"] == "PRICE_BAND")
    assert (band["limit"], band["value"]) == ("95.00-105.00", "94.95")


def test_outside_market_hours_an_order_waits_as_amo(account, settings):
    settings.MARKETDATA_ALWAYS_OPEN = False  # the demo clock's "session" is the whole day
    with mock.patch("orders.services.calendar.is_open", return_value=False):
        order = place(account, order_type="LIMIT", price=Decimal("1450.00"))
    assert order.status == "AMO"
    assert order.outbox.sent_at is None
    assert order.outbox.not_before > order.created_at
    assert order.blocked_amount == Decimal("14500.00")


def test_ioc_is_refused_outside_market_hours(account):
    with mock.patch("orders.services.calendar.is_open", return_value=False):
        order = place(account, validity="IOC", order_type="LIMIT", price=Decimal("1450.00"))
    assert [r["code"] for r in order.rejection_reasons] == ["IOC_OUTSIDE_SESSION"]


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"order_type": "LIMIT"}, "price", "is required for LIMIT orders"),
        ({"order_type": "SL", "price": Decimal("1500.00")}, "trigger_price", "is required for SL orders"),
        ({"order_type": "LIMIT", "price": Decimal("1500.03")}, "price", "1500.03 is not a multiple of the tick size 0.05"),
        ({"price": Decimal("1500.00")}, "price", "must be empty for MARKET orders"),
        ({"symbol": "NOSUCH"}, "tradingsymbol", "unknown instrument NSE:NOSUCH"),
        ({"order_type": "SL", "price": Decimal("1500.00"), "trigger_price": Decimal("1501.00")}, "trigger_price", "of a stop-loss buy must not be above its price"),
    ],
)  # fmt: skip
def test_malformed_requests_write_nothing(account, kwargs, field, message):
    before = (Order.objects.count(), LedgerEntry.objects.count(), AuditEvent.objects.count())
    with pytest.raises(OrderInputError) as caught:
        place(account, **kwargs)
    assert message in caught.value.errors[field]
    assert (
        Order.objects.count(),
        LedgerEntry.objects.count(),
        AuditEvent.objects.count(),
    ) == before


def test_same_client_order_id_and_payload_returns_the_original(account):
    first = order_place(account=account, request=request(client_order_id="algo-1"))
    again = order_place(account=account, request=request(client_order_id="algo-1"))
    assert (first.created, again.created) == (True, False)
    assert again.order.pk == first.order.pk
    assert Order.objects.count() == 1


def test_same_client_order_id_with_another_payload_is_refused(account):
    order_place(account=account, request=request(client_order_id="algo-1"))
    with pytest.raises(IdempotencyMismatch, match="already used for order"):
        order_place(account=account, request=request(client_order_id="algo-1", quantity=11))
    assert Order.objects.count() == 1


def test_modify_reblocks_funds_and_reaches_the_exchange(account):
    order = place(account, order_type="LIMIT", price=Decimal("1400.00"), quantity=10)
    with _on_commit(execute=True):  # the broker is asked, and answers, after commit
        assert order_modify(order=order, price=Decimal("1450.00"), quantity=20).status == (
            "MODIFY_PENDING"
        )
    order.refresh_from_db()
    assert (order.quantity, order.price, order.blocked_amount) == (
        20,
        Decimal("1450.00"),
        Decimal("29000.00"),
    )
    assert (order.paper.quantity, order.paper.price) == (20, Decimal("1450.00"))
    assert AuditEvent.objects.filter(action="order.modified", object_id=str(order.pk)).exists()
    assert_invariants(account)


def test_modify_refuses_bad_changes(account):
    order = place(account, order_type="LIMIT", price=Decimal("1400.00"))
    with pytest.raises(OrderInputError, match="tick size"):
        order_modify(order=order, price=Decimal("1400.01"))
    filled = place(account)
    with pytest.raises(IllegalTransition):
        order_modify(order=filled, quantity=20)


def test_cancel_releases_funds_once(account):
    order = place(account, order_type="LIMIT", price=Decimal("1400.00"), quantity=10)
    with _on_commit(execute=True):
        assert order_cancel(order=order).status == "CANCEL_PENDING"
    order.refresh_from_db()
    assert (order.status, order.blocked_amount, order.paper.status) == ("CANCELLED", 0, "cancelled")
    with pytest.raises(IllegalTransition, match="is cancelled and cannot be cancelled"):
        order_cancel(order=order)
    assert_invariants(account)


def test_fills_are_idempotent_per_broker_fill_id_and_bounded(account):
    order = place(account, order_type="LIMIT", price=Decimal("1400.00"), quantity=10)
    first = fill_apply(order=order, broker_fill_id="X-1", quantity=4, price=Decimal("1400.00"))
    again = fill_apply(order=order, broker_fill_id="X-1", quantity=4, price=Decimal("1400.00"))
    assert first.pk == again.pk
    assert Fill.objects.filter(order=order).count() == 1
    with pytest.raises(FillRejected, match="fill of 7"):
        fill_apply(order=order, broker_fill_id="X-2", quantity=7, price=Decimal("1400.00"))
    with _on_commit(execute=True):
        order_cancel(order=order)
    with pytest.raises(FillRejected, match="is CANCELLED"):
        fill_apply(order=order, broker_fill_id="X-3", quantity=1, price=Decimal("1400.00"))
    assert_invariants(account)


def test_brokerage_cap_spans_the_partial_fills_of_one_order(account):
    account.brokerage_plan = "FLAT20"
    account.save()
    quote(ask_qty=100)
    order = place(account, product="MIS", quantity=1000)
    for _ in range(12):
        tick(ask_qty=100)
    brokerage = sum(
        Decimal(f.charges["brokerage"]) for f in Order.objects.get(pk=order.pk).fills.all()
    )
    assert brokerage == Decimal("20.00")


def test_day_orders_expire_at_the_close(account):
    order = place(account, order_type="LIMIT", price=Decimal("1400.00"))
    with _on_commit(execute=True):
        assert orders_expire(session_date=order.session_date) == [order.pk]
    order.refresh_from_db()
    assert (order.status, order.blocked_amount, order.paper.status) == ("EXPIRED", 0, "cancelled")
    assert_invariants(account)


def test_intraday_positions_are_squared_off_through_the_order_path(account):
    place(account, product="MIS", quantity=30)
    with _on_commit(execute=True):
        placed = mis_square_off()
    assert len(placed) == 1
    square = Order.objects.get(pk=placed[0])
    assert (square.transaction_type, square.order_type, square.tag, square.status) == (
        "SELL",
        "MARKET",
        "SQUAREOFF",
        "COMPLETE",
    )
    assert Position.objects.get(product="MIS").quantity == 0
    assert mis_square_off() == []


def test_delivery_buys_settle_into_holdings_then_can_be_sold(account):
    place(account, quantity=40)
    assert place(account, side="SELL", quantity=41).status == "REJECTED"
    assert holdings_settle() == 1
    holding = Holding.objects.get(account=account)
    assert (holding.quantity, holding.average_price) == (40, Decimal("1500.0500"))
    assert Position.objects.get(product="CNC").quantity == 0
    assert place(account, side="SELL", quantity=40).status == "COMPLETE"
    holdings_settle()
    assert Holding.objects.get(account=account).quantity == 0


def test_every_step_is_in_a_chain_that_verifies(account):
    place(account, quantity=5)
    place(account, order_type="LIMIT", price=Decimal("1400.00"))
    with _on_commit(execute=True):
        order_cancel(order=Order.objects.get(status=OrderStatus.OPEN))
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    for expected in ("order.accepted", "order.open", "order.complete", "order.cancelled"):
        assert expected in actions
    assert audit_verify().ok


def test_a_fill_is_one_audit_event_carrying_its_ledger_lines(account):
    order = place(account, quantity=5)
    fill = order.fills.get()
    (event,) = AuditEvent.objects.filter(action="order.complete", object_id=str(order.pk))
    assert event.after["fill"]["broker_fill_id"] == fill.broker_fill_id
    entries = LedgerEntry.objects.filter(fill=fill)
    lines = {(e.kind, str(e.amount)) for e in entries}
    assert {(line["kind"], line["amount"]) for line in event.after["ledger"]} == lines
    assert len(lines) >= 2  # the trade's value and at least brokerage
    ids = [str(pk) for pk in entries.values_list("pk", flat=True)]
    assert not AuditEvent.objects.filter(object_type="orders.ledgerentry", object_id__in=ids)


def test_reconciliation_finds_and_repairs_differences(account):
    from io import StringIO

    from django.core.management import call_command

    lost = place(account, order_type="LIMIT", price=Decimal("1400.00"))
    gone = place(account, order_type="LIMIT", price=Decimal("1401.00"))
    PaperOrder.objects.filter(order=lost).delete()  # the broker never got it
    PaperOrder.objects.filter(order=gone).update(status="cancelled")  # cancelled at the broker
    out = StringIO()
    call_command("reconcile", stdout=out)
    assert "2 difference(s)" in out.getvalue()
    assert PaperOrder.objects.filter(order=lost).count() == 0
    call_command("reconcile", "--repair", stdout=StringIO())
    assert PaperOrder.objects.filter(order=lost).count() == 1
    gone.refresh_from_db()
    assert gone.status == "CANCELLED"
    out = StringIO()
    call_command("reconcile", stdout=out)
    assert "0 difference(s)" in out.getvalue()
    assert_invariants(account)


def test_admin_cancel_action_goes_through_the_service(account, client, user_in_role, otp_login):
    order = place(account, order_type="LIMIT", price=Decimal("1400.00"))
    otp_login(client, user_in_role("Risk Manager"))
    with _on_commit(execute=True):
        response = client.post(
            "/admin/orders/order/",
            {"action": "cancel_orders", "_selected_action": [order.pk]},
            follow=True,
        )
    assert "Cancel sent to the broker for 1 order(s)." in response.content.decode()
    order.refresh_from_db()
    assert order.status == "CANCELLED"
    assert AuditEvent.objects.filter(action="order.cancelled", object_id=str(order.pk)).exists()


def test_a_transient_broker_error_leaves_the_order_for_a_retry(account):
    from orders.execution import TransientBrokerError, execution_submit
    from orders.paper import PaperExchange
    from orders.tasks import submit_order

    assert TransientBrokerError in submit_order.autoretry_for
    assert submit_order.retry_backoff is True
    order = order_place(
        account=account, request=request(order_type="LIMIT", price=Decimal("1400.00"))
    ).order
    with (
        mock.patch.object(PaperExchange, "submit", side_effect=TransientBrokerError("broker busy")),
        pytest.raises(TransientBrokerError),
    ):
        execution_submit(order.pk)
    order.refresh_from_db()
    assert (order.status, order.outbox.sent_at, order.outbox.attempts) == ("ACCEPTED", None, 1)
    assert execution_submit(order.pk).startswith("sent as PAPER")  # the retry
    assert execution_submit(order.pk) == "already sent"  # and a duplicate delivery
    order.refresh_from_db()
    assert (order.status, order.outbox.attempts) == ("OPEN", 2)
    assert PaperOrder.objects.filter(order=order).count() == 1


def test_settlement_waits_for_a_trading_day(account):
    from orders.tasks import settle_delivery

    place(account, quantity=5)
    with mock.patch("orders.tasks.calendar.is_trading_day", return_value=False):
        assert settle_delivery() == 0
    assert not Holding.objects.exists()
    with mock.patch("orders.tasks.calendar.is_trading_day", return_value=True):
        assert settle_delivery() == 1
    assert Holding.objects.get().quantity == 5
