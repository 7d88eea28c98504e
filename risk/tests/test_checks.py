"""The pre-trade pipeline: each check rejects at its limit and not below it; layers combine."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketdata.models import Instrument
from orders.models import Order
from orders.services import order_place
from orders.tests.fixtures import quote, request
from risk.checks import run_all
from risk.choices import LimitKind, Scope
from risk.models import RiskLimit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _commits(django_capture_on_commit_callbacks):
    global _on_commit
    _on_commit = django_capture_on_commit_callbacks


def place(account, **kwargs) -> Order:
    with _on_commit(execute=True):
        order = order_place(account=account, request=request(**kwargs)).order
    order.refresh_from_db()
    return order


def codes(order: Order) -> set[str]:
    return {r["code"] for r in order.rejection_reasons}


def test_layers_combine_and_the_most_restrictive_wins(account, set_limit):
    infy = Instrument.objects.get(tradingsymbol="INFY")
    set_limit(Scope.FIRM, LimitKind.MAX_ORDER_QUANTITY, Decimal(100))
    set_limit(Scope.ACCOUNT, LimitKind.MAX_ORDER_QUANTITY, Decimal(50), account=account)
    set_limit(
        Scope.ACCOUNT_INSTRUMENT,
        LimitKind.MAX_ORDER_QUANTITY,
        Decimal(20),
        account=account,
        instrument=infy,
    )
    assert place(account, quantity=20).status == "COMPLETE"
    infy_big = place(account, quantity=21)
    assert infy_big.rejection_reasons[0]["limit"] == "20"
    assert place(account, symbol="SMALLCAP", quantity=50).status == "COMPLETE"
    other = place(account, symbol="SMALLCAP", quantity=51)
    assert other.rejection_reasons[0]["limit"] == "50"


def test_a_desk_limit_applies_to_its_accounts(account, set_limit):
    from risk.models import Desk

    desk = Desk.objects.create(name="Prop desk")
    desk.accounts.add(account)
    set_limit(Scope.DESK, LimitKind.MAX_ORDER_VALUE, Decimal("20000"), desk=desk)
    assert place(account, quantity=13).status == "COMPLETE"  # 13 x 1500.05 = 19500.65
    assert codes(place(account, quantity=14)) == {"MAX_ORDER_VALUE"}


@pytest.mark.parametrize(
    ("kind", "limit", "accepted", "rejected", "code"),
    [
        # order-level limits: the bigger order on its own is refused
        (LimitKind.MAX_ORDER_QUANTITY, "10", {"quantity": 10}, {"quantity": 11}, "MAX_ORDER_QUANTITY"),
        (LimitKind.MAX_ORDER_VALUE, "15000.50", {"quantity": 10}, {"quantity": 11}, "MAX_ORDER_VALUE"),
        (LimitKind.FAT_FINGER_PCT, "5", {"order_type": "LIMIT", "price": Decimal("1575.00")}, {"order_type": "LIMIT", "price": Decimal("1575.05")}, "FAT_FINGER"),
        # cumulative limits (last price 1500.00): filling up to the limit is fine, one share more is not
        (LimitKind.MAX_POSITION_QUANTITY, "30", {"quantity": 30}, {"quantity": 1}, "MAX_POSITION_QUANTITY"),
        (LimitKind.MAX_POSITION_VALUE, "30001.00", {"quantity": 20}, {"quantity": 1}, "MAX_POSITION_VALUE"),
        (LimitKind.MAX_GROSS_EXPOSURE, "45000.00", {"quantity": 30}, {"quantity": 1}, "MAX_GROSS_EXPOSURE"),
        (LimitKind.MAX_NET_EXPOSURE, "45000.00", {"quantity": 30}, {"quantity": 1}, "MAX_NET_EXPOSURE"),
    ],
)  # fmt: skip
def test_each_limit_at_its_boundary(account, set_limit, kind, limit, accepted, rejected, code):
    set_limit(Scope.ACCOUNT, kind, Decimal(limit), account=account)
    assert place(account, **accepted).status != "REJECTED"
    refused = place(account, **rejected)
    assert code in codes(refused), refused.rejection_reasons


def test_open_orders_count_towards_the_position_limit(account, set_limit):
    set_limit(Scope.ACCOUNT, LimitKind.MAX_POSITION_QUANTITY, Decimal(30), account=account)
    assert (
        place(account, order_type="LIMIT", price=Decimal("1400.00"), quantity=20).status == "OPEN"
    )
    assert (
        place(account, order_type="LIMIT", price=Decimal("1400.00"), quantity=10).status == "OPEN"
    )
    third = place(account, order_type="LIMIT", price=Decimal("1400.00"), quantity=1)
    assert codes(third) == {"MAX_POSITION_QUANTITY"}
    assert third.rejection_reasons[0] | {"message": ""} == {
        "code": "MAX_POSITION_QUANTITY", "message": "", "limit": "30", "value": "31",
    }  # fmt: skip


def test_a_sell_that_reduces_a_position_is_not_blocked_by_it(account, set_limit):
    place(account, quantity=30)
    set_limit(Scope.ACCOUNT, LimitKind.MAX_POSITION_QUANTITY, Decimal(30), account=account)
    assert place(account, side="SELL", quantity=10).status == "COMPLETE"


def test_max_open_positions(account, set_limit):
    place(account, quantity=1)
    set_limit(Scope.ACCOUNT, LimitKind.MAX_OPEN_POSITIONS, Decimal(1), account=account)
    assert place(account, quantity=1).status == "COMPLETE"  # the same instrument
    assert codes(place(account, symbol="SMALLCAP", quantity=1)) == {"MAX_OPEN_POSITIONS"}


def test_allowed_products_intersect_across_layers(account, risk_managers):
    from risk.services import limit_decide, limit_propose

    maker, checker = risk_managers
    for scope, products, target in [
        (Scope.FIRM, "CNC,MIS", {}),
        (Scope.ACCOUNT, "CNC,NRML", {"account": account}),
    ]:
        change = limit_propose(
            actor=maker,
            scope=scope,
            kind=LimitKind.ALLOWED_PRODUCTS,
            products=products,
            reason="t",
            **target,
        )
        limit_decide(change=change, actor=checker, approve=True)
    assert place(account, quantity=1).status == "COMPLETE"
    mis = place(account, product="MIS", quantity=1)
    assert mis.rejection_reasons[0]["limit"] == "CNC"
    assert codes(place(account, product="NRML", quantity=1)) == {"PRODUCT_NOT_ALLOWED"}


def test_surveillance_instruments_take_delivery_orders_only(account):
    Instrument.objects.filter(tradingsymbol="INFY").update(asm_stage="ST-ASM-II")
    assert codes(place(account, product="MIS", quantity=1)) == {"SURVEILLANCE_CNC_ONLY"}
    assert place(account, product="CNC", quantity=1).status == "COMPLETE"


def _orders_in_the_last_second(account, n: int, algo_id: str = "") -> None:
    instrument = Instrument.objects.get(tradingsymbol="INFY")
    Order.objects.bulk_create(
        Order(
            account=account, instrument=instrument, exchange="NSE", tradingsymbol="INFY", transaction_type="BUY",
            order_type="LIMIT", product="CNC", quantity=1, price=Decimal("1.00"), status="OPEN", algo_id=algo_id,
            session_date=timezone.localdate(), payload_hash="x",
        )
        for _ in range(n)
    )  # fmt: skip
    Order.objects.filter(account=account).update(
        created_at=timezone.now() - timedelta(milliseconds=500)
    )


@pytest.mark.parametrize(("already", "accepted"), [(9, True), (10, False)])
def test_ten_orders_a_second_are_allowed_and_the_eleventh_is_not(account, already, accepted):
    _orders_in_the_last_second(account, already)
    order = place(account, quantity=1)
    assert (order.status != "REJECTED") is accepted
    if not accepted:
        assert order.rejection_reasons[0] | {"message": ""} == {
            "code": "ORDER_RATE",
            "message": "",
            "limit": "10",
            "value": "11",
        }


def test_orders_older_than_a_second_do_not_count(account):
    _orders_in_the_last_second(account, 10)
    Order.objects.filter(account=account).update(created_at=timezone.now() - timedelta(seconds=2))
    assert place(account, quantity=1).status == "COMPLETE"


def test_the_algo_rate_counts_across_accounts(account):
    _orders_in_the_last_second(account, 10, algo_id="ALGO7")
    order = order_place(account=account, request=request(quantity=1, algo_id="ALGO7")).order
    assert "ALGO_ORDER_RATE" in codes(order)


def test_daily_loss_stops_new_orders(account, set_limit):
    place(account, product="MIS", quantity=100)
    quote(bid="1480.00", ask="1480.05")  # 100 x (1480.00 - 1500.05) = -2005.00 marked to market
    set_limit(Scope.ACCOUNT, LimitKind.MAX_DAILY_LOSS, Decimal("2100"), account=account)
    assert place(account, quantity=1).status == "COMPLETE"
    set_limit(Scope.ACCOUNT, LimitKind.MAX_DAILY_LOSS, Decimal("2000"), account=account)
    rejected = place(account, quantity=1)
    assert codes(rejected) == {"MAX_DAILY_LOSS"}


def test_a_stop_may_risk_two_percent_of_equity_by_default(account):
    place(account, quantity=400)  # 400 at 1500.05
    cash = account.__class__.objects.get(pk=account.pk).cash_balance
    allowed = (cash * 2 / 100).quantize(Decimal("0.01"))
    # The stop that risks just under 2 % of equity is accepted; one tick lower is not.
    per_share = int(allowed / 400 / Decimal("0.05")) * Decimal("0.05")  # whole ticks, within 2 %
    stop = Decimal("1500.05") - per_share
    assert (
        place(account, side="SELL", order_type="SL-M", trigger_price=stop, quantity=400).status
        == "TRIGGER_PENDING"
    )
    deeper = place(
        account,
        side="SELL",
        order_type="SL-M",
        trigger_price=stop - Decimal("0.05") * 2,
        quantity=400,
    )
    assert "RISK_PER_TRADE" in codes(deeper)


def test_every_failing_check_is_reported(account, set_limit):
    set_limit(Scope.ACCOUNT, LimitKind.MAX_ORDER_QUANTITY, Decimal(5), account=account)
    set_limit(Scope.ACCOUNT, LimitKind.MAX_ORDER_VALUE, Decimal(100), account=account)
    assert codes(place(account, quantity=6)) == {"MAX_ORDER_QUANTITY", "MAX_ORDER_VALUE"}


def test_the_pipeline_costs_the_same_whatever_the_history(account, django_assert_max_num_queries):
    q = quote()
    instrument = Instrument.objects.get(tradingsymbol="INFY")
    with django_assert_max_num_queries(8) as few:
        run_all(account=account, instrument=instrument, request=request(quantity=1), quote=q)
    for _ in range(30):
        place(account, order_type="LIMIT", price=Decimal("1400.00"), quantity=1)
    with django_assert_max_num_queries(len(few.captured_queries)):
        run_all(account=account, instrument=instrument, request=request(quantity=1), quote=q)


# --- Property: never accept what a plain reference would reject -----------------------------------


def reference_rejects(
    limits: dict, *, quantity: int, price: Decimal, held: int, ltp: Decimal
) -> bool:
    """Written independently of risk.checks, from the limits' definitions."""
    if "max_order_quantity" in limits and quantity > limits["max_order_quantity"]:
        return True
    if "max_order_value" in limits and quantity * price > limits["max_order_value"]:
        return True
    if "max_position_quantity" in limits and held + quantity > limits["max_position_quantity"]:
        return True
    return "fat_finger_pct" in limits and abs(price - ltp) * 100 > limits["fat_finger_pct"] * ltp


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    limits=st.dictionaries(
        st.sampled_from(
            ["max_order_quantity", "max_order_value", "max_position_quantity", "fat_finger_pct"]
        ),
        st.integers(1, 200_000).map(Decimal),
    ),
    quantity=st.integers(1, 150),
    ticks_from_ltp=st.integers(-400, 400),
    held=st.integers(0, 100),
)
def test_never_accepts_what_the_reference_rejects(account, limits, quantity, ticks_from_ltp, held):
    from orders.models import Position

    ltp = Decimal("1500.00")
    price = ltp + ticks_from_ltp * Decimal("0.05")
    q = quote(bid=str(ltp), ask=str(ltp + Decimal("0.05")), last=str(ltp))
    instrument = Instrument.objects.get(tradingsymbol="INFY")
    RiskLimit.objects.exclude(target="firm").delete()
    Position.objects.update_or_create(
        account=account,
        instrument=instrument,
        product="CNC",
        defaults={"quantity": held, "average_price": ltp},
    )
    for kind, value in limits.items():
        RiskLimit.objects.create(
            scope=Scope.ACCOUNT,
            kind=kind,
            target=f"account:{account.pk}",
            account=account,
            value=value,
        )
    rejections = run_all(
        account=account, instrument=instrument, quote=q,
        request=request(order_type="LIMIT", price=price, quantity=quantity),
    )  # fmt: skip
    if reference_rejects(limits, quantity=quantity, price=price, held=held, ltp=ltp):
        assert rejections, (limits, quantity, price, held)
