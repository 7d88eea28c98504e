"""Converting today's position between MIS and CNC: the shares change product, the money
moves as a delivery trade at the average price, the end of day settles or squares off what
was converted, and every refusal names why and changes nothing (service and API; the web
page's in web/tests/test_positions.py)."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from compliance.models import AuditEvent
from orders.conversion import ConversionRefused, position_convert
from orders.eod import holdings_settle, mis_square_off
from orders.models import Holding, LedgerEntry, Position
from orders.services import cash_from_ledger, order_place
from orders.tests.fixtures import assert_invariants, quote, request

pytestmark = pytest.mark.django_db
AVG = Decimal("1500.05")  # a market buy fills at the ask


@pytest.fixture
def bought(account, answered):
    """Bought 10 INFY intraday (MIS) at 1500.05."""
    with answered():
        order_place(account=account, request=request(product="MIS", quantity=10))
    account.refresh_from_db()
    return account


def _position(account, product) -> Position:
    return Position.objects.get(account=account, product=product)


def _convert(account, market, **terms):
    terms = {"from_product": "MIS", "to_product": "CNC", "quantity": 10, **terms}
    return position_convert(account=account, instrument=market["INFY"], **terms)


def _books(account):
    account.refresh_from_db()
    return (
        account.cash_balance, account.blocked,
        list(Position.objects.filter(account=account).values_list("product", "quantity")),
        LedgerEntry.objects.filter(account=account).count(),
    )  # fmt: skip


def test_mis_to_cnc_debits_the_value_and_the_close_settles_it_into_holdings(bought, market):
    cash = bought.cash_balance
    done = _convert(bought, market, quantity=6)
    assert (done.quantity, done.value) == (6, AVG * 6)
    mis, cnc = _position(bought, "MIS"), _position(bought, "CNC")
    assert (mis.quantity, mis.average_price, mis.day_buy_quantity) == (4, AVG, 4)
    assert (cnc.quantity, cnc.average_price, cnc.day_buy_quantity) == (6, AVG, 6)
    bought.refresh_from_db()
    assert bought.cash_balance == cash - AVG * 6 == cash_from_ledger(bought)
    entry = LedgerEntry.objects.filter(account=bought).latest("pk")
    assert (entry.kind, entry.amount) == ("trade_debit", -AVG * 6)
    assert "Converted 6 INFY MIS→CNC" in entry.memo
    event = AuditEvent.objects.filter(action="position.converted").get()
    assert event.after["positions"] == {"CNC": [6, "1500.0500"], "MIS": [4, "1500.0500"]}
    assert_invariants(bought)
    # the close squares off only what stayed intraday, and settles the delivery shares
    squared = mis_square_off()
    assert len(squared) == 1
    assert holdings_settle() >= 1
    held = Holding.objects.get(account=bought)
    assert (held.quantity, held.average_price) == (6, AVG)


def test_cnc_to_mis_credits_the_delivery_debit_back(account, market, answered):
    with answered():
        order_place(account=account, request=request(product="CNC", quantity=10))
    account.refresh_from_db()
    cash = account.cash_balance
    _convert(account, market, from_product="CNC", to_product="MIS")
    account.refresh_from_db()
    assert account.cash_balance == cash + AVG * 10
    assert _position(account, "MIS").quantity == 10
    assert _position(account, "CNC").quantity == 0
    assert mis_square_off()  # it is intraday now: the close squares it off


def test_a_short_intraday_sale_becomes_a_delivery_sale_only_with_holdings(
    account, market, answered
):
    quote("INFY", bid="1500.00", ask="1500.05")
    with answered():
        order_place(account=account, request=request(side="SELL", product="MIS", quantity=5))
    account.refresh_from_db()
    before = _books(account)
    with pytest.raises(ConversionRefused, match="needs the shares in holdings; 0 can"):
        _convert(account, market, quantity=5)
    assert _books(account) == before
    Holding.objects.create(account=account, instrument=market["INFY"], quantity=5,
                           average_price=Decimal("1200"))  # fmt: skip
    cash = account.cash_balance
    _convert(account, market, quantity=5)
    account.refresh_from_db()
    assert account.cash_balance == cash + Decimal("1500.00") * 5
    assert _position(account, "CNC").quantity == -5
    assert_invariants(account)


@pytest.mark.parametrize(
    ("terms", "says"),
    [
        ({"quantity": 11}, "is 10 shares; 11 cannot be converted"),
        ({"quantity": 0}, "A whole number of shares, 1 or more, not 0"),
        ({"to_product": "MIS"}, "The position is already MIS"),
        ({"to_product": "NRML"}, "'NRML' is not a product that converts"),
        ({"from_product": "CNC", "to_product": "MIS"}, "is 0 shares; 10 cannot"),
    ],
)
def test_bad_terms_are_named_and_change_nothing(bought, market, terms, says):
    before = _books(bought)
    with pytest.raises(ConversionRefused, match=says):
        _convert(bought, market, **terms)
    assert _books(bought) == before
    assert not AuditEvent.objects.filter(action="position.converted").exists()


def test_not_enough_funds_for_delivery_is_refused_with_the_figures(bought, market):
    from django.utils import timezone

    from orders.selectors import funds_of
    from orders.services import funds_move

    available = funds_of(bought, on=timezone.localdate())["available"]
    funds_move(account=bought, kind="withdrawal", amount=available - Decimal("100"))
    before = _books(bought)
    with pytest.raises(ConversionRefused, match=r"needs ₹.*; ₹100.00 is available") as refused:
        _convert(bought, market)
    assert refused.value.extra["available"] == "100.00"
    assert _books(bought) == before


def test_an_opposite_position_in_the_target_product_is_refused(bought, market, answered):
    Holding.objects.create(account=bought, instrument=market["INFY"], quantity=3,
                           average_price=Decimal("1200"))  # fmt: skip
    quote("INFY", bid="1500.00", ask="1500.05")
    with answered():
        order_place(account=bought, request=request(side="SELL", product="CNC", quantity=3))
    with pytest.raises(
        ConversionRefused, match=r"CNC position in INFY is on the other side \(-3\)"
    ):
        _convert(bought, market)


def test_outside_market_hours_nothing_converts(bought, market, monkeypatch):
    from marketdata import calendar

    monkeypatch.setattr(calendar, "is_open", lambda now=None: False)
    before = _books(bought)
    with pytest.raises(ConversionRefused, match="only while the market is open"):
        _convert(bought, market)
    assert _books(bought) == before


# --- The API and the web app ----------------------------------------------------------------

CONVERT = "/api/v1/positions/convert"


def test_the_api_converts_and_names_every_bad_field(bought, trader):
    body = {"account": "TS0001", "instrument": "NSE:INFY", "from_product": "MIS",
            "to_product": "CNC", "quantity": 4}  # fmt: skip
    answer = trader.post(CONVERT, body, format="json")
    assert answer.status_code == 200, answer.content
    assert {(r["product"], r["quantity"]) for r in answer.json()} == {("MIS", 6), ("CNC", 4)}
    trader.post(CONVERT, {**body, "quantity": 6}, format="json")  # the rest: MIS is flat
    too_many = trader.post(CONVERT, {**body, "quantity": 1}, format="json")
    assert too_many.status_code == 422
    assert too_many.json()["type"].endswith("/conversion-refused")
    assert "is 0 shares; 1 cannot" in too_many.json()["detail"]
    bad = trader.post(CONVERT, {**body, "to_product": "FUT", "quantity": "ten"}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"to_product", "quantity"}
    extra = trader.post(CONVERT, {**body, "status": "x"}, format="json")
    assert extra.json()["errors"] == {"status": ["is not a field you can set"]}
    unknown = trader.post(CONVERT, {**body, "instrument": "NSE:NOSUCH"}, format="json")
    assert unknown.status_code == 400
    assert "NSE:NOSUCH" in unknown.json()["errors"]["instrument"][0]
    other = trader.post(CONVERT, {**body, "account": "TS9999"}, format="json")
    assert other.status_code == 404


def test_a_role_that_may_not_place_orders_may_not_convert(bought, api_client):
    viewer = bought.users.get()
    viewer.groups.add(Group.objects.get(name="Auditor"))
    api_client.force_authenticate(viewer)
    body = {"account": "TS0001", "instrument": "NSE:INFY", "from_product": "MIS",
            "to_product": "CNC", "quantity": 4}  # fmt: skip
    assert api_client.post(CONVERT, body, format="json").status_code == 403
    assert _position(bought, "MIS").quantity == 10
