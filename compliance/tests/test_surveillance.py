"""Surveillance end to end: orders placed and filled through the order services trip each
pattern's rule (with its migrated default parameters), an alert lands in the queue with
the order and fill ids as evidence, a second run raises nothing new, and no trader's API
shows any of it (tipping-off)."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from compliance.alerts.models import Alert, AlertRule
from compliance.models import Client
from compliance.surveillance.models import ClientGroup, ClientLink
from compliance.surveillance.services import surveillance_run
from marketdata.calendar import IST
from orders.choices import LedgerKind
from orders.execution import BrokerOrderState, submission_record
from orders.models import TradingAccount
from orders.services import fill_apply, funds_move, order_cancel, order_place
from orders.tests.fixtures import quote, request

pytestmark = pytest.mark.django_db

PANS = ["ABCPA1111A", "ABCPB2222B", "ABCPC3333C", "ABCPD4444D", "ABCPE5555E"]


@pytest.fixture
def desk(market):
    """Five funded accounts (clients 0-4), INFY quoted at 1500.00 / 1500.05."""
    accounts = []
    for number, pan in enumerate(PANS):
        client = Client.objects.create(
            name=f"Client {number}", pan=pan, kyc_status=Client.KycStatus.VERIFIED
        )
        account = TradingAccount.objects.create(code=f"TS10{number}", client=client)
        funds_move(account=account, kind=LedgerKind.DEPOSIT, amount=Decimal("100000000.00"))
        accounts.append(account)
    quote("INFY")
    return accounts


_fills = iter(range(1, 1_000_000))


def trade(account, side, quantity, price, *, at=None, **extra):
    """A limit order placed, acknowledged by the broker and filled in full at ``price`` (at
    ``at``); returns (order, fill)."""
    order = order_place(
        account=account,
        request=request(
            side=side, order_type="LIMIT", product="MIS", quantity=quantity,
            price=Decimal(price), **extra,
        ),
    ).order  # fmt: skip
    assert order.status == "ACCEPTED", order.rejection_reasons
    # The broker acknowledges it (the paper exchange is not asked: the test says the fill).
    submission_record(order_id=order.pk, state=BrokerOrderState(f"B{order.pk}", "working", 0))
    fill = fill_apply(
        order=order, broker_fill_id=f"F{next(_fills)}", quantity=quantity,
        price=Decimal(price), filled_at=at,
    )  # fmt: skip
    return order, fill


def today():
    return timezone.localtime(timezone.now(), IST).date()


def alerts(code):
    return list(Alert.objects.filter(rule__code=code).order_by("id"))


def ids(alert, kind):
    return [e["id"] for e in alert.evidence if e["kind"] == kind]


def run():
    return surveillance_run(day=today(), close=True)


def test_rules_are_migrated_with_valid_default_params():
    from compliance.surveillance.rules import PARAMS, params_validate

    rules = AlertRule.objects.filter(kind=AlertRule.Kind.SURVEILLANCE)
    assert sorted(r.code for r in rules) == sorted(PARAMS)
    for rule in rules:
        params_validate(rule.code, rule.params)


def test_wash_trade_is_raised_once(desk):
    _, buy = trade(desk[0], "BUY", 100, "1500.00")
    _, sell = trade(desk[0], "SELL", 100, "1500.05")
    assert run()["wash_trade"] == 1
    (alert,) = alerts("wash_trade")
    assert ids(alert, "fill") == [buy.pk, sell.pk]
    assert (alert.client_id, alert.status) == (desk[0].client_id, Alert.Status.OPEN)
    assert "bought and sold 100" in alert.summary
    assert run()["wash_trade"] == 0  # the second run raises nothing new
    assert len(alerts("wash_trade")) == 1


def test_wash_trade_across_a_linked_group(desk):
    group = ClientGroup.objects.create(name="Rao family", relation=ClientGroup.Relation.FAMILY)
    for account in desk[:2]:
        ClientLink.objects.create(group=group, client=account.client)
    trade(desk[0], "BUY", 100, "1500.00")
    trade(desk[1], "SELL", 100, "1500.00")
    trade(desk[2], "SELL", 100, "1500.00")  # unlinked: not part of it
    run()
    (alert,) = alerts("wash_trade")
    assert alert.subject_key == f"group:{group.pk}|instrument:{alert.instrument_id}"
    assert alert.priority == Alert.Priority.HIGH


def test_no_wash_trade_at_prices_apart(desk):
    trade(desk[0], "BUY", 100, "1500.00")
    trade(desk[0], "SELL", 100, "1501.60")  # 0.1067 %: over the 0.1 % tolerance
    run()
    assert alerts("wash_trade") == []


def test_spoofing(desk):
    spoof = order_place(
        account=desk[0],
        request=request(order_type="LIMIT", product="MIS", quantity=5000, price=Decimal("1490")),
    ).order
    _, sold = trade(desk[0], "SELL", 100, "1500.05")
    order_cancel(order=spoof)
    run()
    (alert,) = alerts("spoofing")
    assert ids(alert, "order") == [spoof.pk]
    assert ids(alert, "fill") == [sold.pk]
    spoof.refresh_from_db()
    assert (spoof.touch_bid, spoof.touch_ask) == (Decimal("1500.00"), Decimal("1500.05"))


def test_no_spoofing_close_to_the_touch(desk):
    near = order_place(
        account=desk[0],
        request=request(order_type="LIMIT", product="MIS", quantity=5000, price=Decimal("1493")),
    ).order  # 0.4667 % from the bid
    trade(desk[0], "SELL", 100, "1500.05")
    order_cancel(order=near)
    run()
    assert alerts("spoofing") == []


def test_order_to_trade_ratio_per_client_and_algo(desk):
    AlertRule.objects.filter(code="order_to_trade").update(
        params={
            "slabs": [{"from": 5, "penalty_rupees": 5000}],
            "exclude_within_pct": 0.75,
            "min_orders": 5,
        }
    )
    placed = [
        order_place(
            account=desk[0],
            request=request(
                order_type="LIMIT",
                product="MIS",
                quantity=1,
                price=Decimal("1400"),
                algo_id="ALGO42",
            ),
        ).order
        for _ in range(5)
    ]
    order_place(  # within 0.75 % of the market: not counted
        account=desk[1], request=request(order_type="LIMIT", quantity=1, price=Decimal("1499"))
    )
    run()
    found = {a.subject_key: a for a in alerts("order_to_trade")}
    assert sorted(found) == ["algo:ALGO42", f"client:{desk[0].client_id}"]
    assert ids(found["algo:ALGO42"], "order") == [o.pk for o in placed]
    assert found["algo:ALGO42"].score == Decimal("5")


def test_marking_the_close(desk):
    close = datetime.combine(today(), time(15, 30), IST)
    _, before = trade(desk[1], "BUY", 100, "1500.00", at=close - timedelta(minutes=45))
    _, late = trade(desk[0], "BUY", 300, "1531.00", at=close - timedelta(minutes=5))
    assert surveillance_run(day=today())["wash_trade"] == 0  # not in session: only at close
    assert "marking_close" not in surveillance_run(day=today())
    run()
    (alert,) = alerts("marking_close")
    assert ids(alert, "fill") == [late.pk]
    assert alert.detail["reference"] == "1500.00"
    assert alert.detail["close"] == "1531.00"
    assert before.pk not in ids(alert, "fill")


def test_no_marking_the_close_under_the_move(desk):
    close = datetime.combine(today(), time(15, 30), IST)
    trade(desk[1], "BUY", 100, "1500.00", at=close - timedelta(minutes=45))
    trade(desk[0], "BUY", 300, "1529.95", at=close - timedelta(minutes=5))  # 1.9967 %
    run()
    assert alerts("marking_close") == []


def test_front_running(desk):
    TradingAccount.objects.filter(pk=desk[4].pk).update(kind=TradingAccount.Kind.STAFF)
    ahead, _ = trade(desk[4], "BUY", 100, "1500.05")
    client = order_place(
        account=desk[0],
        request=request(order_type="LIMIT", product="MIS", quantity=5000, price=Decimal("1501")),
    ).order
    run()
    (alert,) = alerts("front_running")
    assert ids(alert, "order") == [ahead.pk, client.pk]
    assert alert.account_id == desk[4].pk


def test_circular_trading(desk):
    group = ClientGroup.objects.create(name="Ring", relation=ClientGroup.Relation.SHARED_BANK)
    for account in desk[:3]:
        ClientLink.objects.create(group=group, client=account.client)
    a, b, c = desk[:3]
    legs = []
    for seller, buyer in ((a, b), (b, c), (c, a)):
        legs += [trade(seller, "SELL", 100, "1500.00")[1], trade(buyer, "BUY", 100, "1500.00")[1]]
    run()
    (alert,) = alerts("circular_trading")
    # Our fills do not name the counterparty: at one price and moment either way round fits.
    assert sorted(alert.detail["cycle"]) == [a.client_id, b.client_id, c.client_id]
    assert ids(alert, "fill") == sorted(f.pk for f in legs)


def test_concentration_of_our_book(desk):
    _, big = trade(desk[0], "BUY", 1000, "1500.00")
    trade(desk[1], "BUY", 100, "1500.00")
    run()
    (alert,) = alerts("concentration")
    assert alert.client_id == desk[0].client_id
    assert ids(alert, "fill") == [big.pk]
    assert alert.score == Decimal("90.9091")


def test_no_concentration_under_the_minimum_quantity(desk):
    trade(desk[0], "BUY", 999, "1500.00")
    run()
    assert alerts("concentration") == []


def test_a_rule_with_bad_stored_params_is_refused_not_run_on_defaults(desk):
    from django.core.exceptions import ValidationError

    AlertRule.objects.filter(code="wash_trade").update(params={"window_seconds": -1})
    trade(desk[0], "BUY", 1000, "1500.00")
    trade(desk[0], "SELL", 1000, "1500.00")
    with pytest.raises(
        ValidationError, match="wash_trade: missing parameter 'price_tolerance_pct'"
    ):
        run()
    assert alerts("wash_trade") == []  # not run on defaults
    assert len(alerts("concentration")) == 1  # the other rules ran


def test_a_disabled_rule_does_not_run(desk):
    AlertRule.objects.filter(code="wash_trade").update(enabled=False)
    trade(desk[0], "BUY", 100, "1500.00")
    trade(desk[0], "SELL", 100, "1500.00")
    assert "wash_trade" not in run()
    assert alerts("wash_trade") == []


def test_tipping_off_a_traders_api_shows_nothing_of_alerts(desk, api_client, django_user_model):
    from django.contrib.auth.models import Group

    order, _ = trade(desk[0], "BUY", 100, "1500.00")
    trade(desk[0], "SELL", 100, "1500.00")
    run()
    (alert,) = alerts("wash_trade")
    user = django_user_model.objects.create_user("trader0")
    user.groups.add(Group.objects.get(name="Trader"))
    desk[0].users.add(user)
    api_client.force_authenticate(user)
    shown = []
    for path in (
        "/api/v1/", "/api/v1/me", "/api/v1/accounts", f"/api/v1/accounts/{desk[0].code}",
        "/api/v1/orders", f"/api/v1/orders/{order.pk}", f"/api/v1/orders/{order.pk}/history",
        "/api/v1/trades", "/api/v1/positions", "/api/v1/audit-events", "/api/schema/",
    ):  # fmt: skip
        response = api_client.get(path)
        assert response.status_code in (200, 403), path
        shown.append(response.content)
    assert b"/api/v1/orders" in b" ".join(shown)  # the pages did answer
    for guessed in ("/api/v1/alerts", "/api/v1/compliance/alerts", f"/api/v1/alerts/{alert.pk}"):
        assert api_client.get(guessed).status_code in (403, 404)
    text = b" ".join(shown).lower()
    for word in (b"alert", b"surveillance", b"wash trade", alert.summary.lower().encode()):
        assert word not in text
    assert api_client.get(f"/admin/compliance/alert/{alert.pk}/change/").status_code == 302
