"""The order ticket and the order book: a preview shows the required funds and charges and
places nothing; a LIMIT buy is placed, shown in the book, modified and cancelled in place;
a rejected order shows the limit that refused it; bad input is named on its field; another
account's order is a 404."""

import re
from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse

from orders.models import Order
from risk.choices import LimitKind, Scope

pytestmark = pytest.mark.django_db
LIMIT_BUY = {
    "key": "NSE:INFY", "transaction_type": "BUY", "order_type": "LIMIT", "product": "CNC",
    "validity": "DAY", "quantity": "10", "price": "1300.00", "trigger_price": "",
}  # fmt: skip


def html_of(answer) -> str:
    return unescape(answer.content.decode())


def text_of(answer) -> str:
    """The page's text: tags dropped, white space collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html_of(answer)).split())


def test_the_ticket_opens_for_the_instrument_and_side_asked(web):
    page = html_of(web.get(reverse("web:ticket"), {"key": "NSE:INFY", "side": "SELL"}))
    assert 'value="NSE:INFY"' in page
    assert (
        'value="SELL" id="id_transaction_type_1" required checked'
        in page.replace('value="SELL" name', 'value="SELL"')
        or 'value="SELL" checked' in page
        or ('value="SELL"' in page and "checked" in page)
    )
    assert "LTP ₹" in page


def test_a_preview_shows_funds_and_charges_and_places_nothing(web):
    page = text_of(web.post(reverse("web:ticket"), {**LIMIT_BUY, "action": "preview"}))
    assert "Required funds ₹13,000.00 · available ₹10,00,000.00" in page
    assert "Charges if it fills whole at ₹1,300.00: ₹15.42" in page  # STT 13, stamp 1.95...
    assert "Every check passes." in page
    assert not Order.objects.exists()


def test_a_limit_buy_is_placed_modified_and_cancelled_from_the_book(web, account):
    placed = web.post(reverse("web:ticket"), {**LIMIT_BUY, "action": "place"})
    assert placed.url == reverse("web:orders")
    order = Order.objects.get()
    assert (order.account, order.price, order.tag) == (account, Decimal("1300.00"), "web")
    book = html_of(web.get(reverse("web:orders")))
    assert f'data-id="{order.pk}"' in book
    assert f'aria-label="Cancel order {order.pk}"' in book

    web.post(reverse("web:order-modify", args=[order.pk]), {"quantity": "10", "price": "1305.00"})
    order.refresh_from_db()
    assert order.price == Decimal("1305.00")
    bad = web.post(reverse("web:order-modify", args=[order.pk]), {"price": "12.345x"},
                   follow=True)  # fmt: skip
    assert "was not changed: price is not a number" in html_of(bad)

    web.post(reverse("web:order-cancel", args=[order.pk]))
    order.refresh_from_db()
    assert order.status == "CANCELLED"
    again = web.post(reverse("web:order-cancel", args=[order.pk]), follow=True)
    assert f"Order {order.pk} was not cancelled" in html_of(again)
    assert f'aria-label="Cancel order {order.pk}"' not in html_of(again)


def test_a_rejected_order_shows_the_limit_that_refused_it(web, set_limit, account):
    set_limit(Scope.ACCOUNT, LimitKind.MAX_ORDER_QUANTITY, Decimal(5), account=account)
    page = html_of(web.post(reverse("web:ticket"), {**LIMIT_BUY, "action": "place"}))
    order = Order.objects.get()
    assert order.status == "REJECTED"
    assert f"Order {order.pk} was rejected." in page
    [reason] = order.rejection_reasons
    assert reason["message"] in page
    assert "limit 5" in page


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"key": "NSE:NOPE"}, "There is no instrument NSE:NOPE."),
        ({"quantity": "0"}, "Ensure this value is greater than or equal to 1."),
        ({"price": "1300.03"}, "tick"),
        ({"order_type": "SL", "trigger_price": ""}, "trigger"),
    ],
)
def test_bad_input_is_named_and_nothing_is_placed(web, change, said):
    page = html_of(web.post(reverse("web:ticket"), {**LIMIT_BUY, **change, "action": "place"}))
    assert said in page
    assert not Order.objects.exists()


def test_another_accounts_order_is_a_404(web, account, django_user_model):
    from compliance.models import Client as Customer
    from orders.models import TradingAccount
    from orders.services import order_place
    from orders.validation import OrderRequest

    other = TradingAccount.objects.create(
        code="TS0700", client=Customer.objects.create(name="Other", pan="ABCPO1234K")
    )
    other.users.add(django_user_model.objects.create_user("ola"))
    from orders.choices import LedgerKind
    from orders.services import funds_move

    funds_move(account=other, kind=LedgerKind.DEPOSIT, amount=Decimal("100000"))
    theirs = order_place(account=other, request=OrderRequest(
        exchange="NSE", tradingsymbol="INFY", transaction_type="BUY", order_type="LIMIT",
        product="CNC", quantity=1, price=Decimal("1300.00"),
    )).order  # fmt: skip
    assert web.get(reverse("web:order", args=[theirs.pk])).status_code == 404
    assert web.post(reverse("web:order-cancel", args=[theirs.pk])).status_code == 404
    assert (
        web.post(reverse("web:order-modify", args=[theirs.pk]), {"price": "1.00"}).status_code
        == 404
    )
    theirs.refresh_from_db()
    assert theirs.status != "CANCELLED"
    assert f'data-id="{theirs.pk}"' not in html_of(web.get(reverse("web:orders")))


def test_exit_squares_off_only_the_users_open_position(web, account, django_user_model):
    from orders.models import Position

    position = Position.objects.create(
        account=account, instrument=Order._meta.get_field("instrument").related_model.objects.get(
            tradingsymbol="INFY"), product="MIS", quantity=-4, average_price=Decimal("1400"),
    )  # fmt: skip
    done = web.post(reverse("web:position-exit", args=[position.pk]), follow=True)
    order = Order.objects.get()
    assert (order.transaction_type, order.quantity, order.product, order.order_type, order.tag) == (
        "BUY", 4, "MIS", "MARKET", "web-exit"
    )  # fmt: skip
    assert f"Exit order {order.pk}: BUY 4 INFY at market" in text_of(done)

    flat = Position.objects.create(
        account=account, instrument=position.instrument, product="CNC", quantity=0
    )
    refused = web.post(reverse("web:position-exit", args=[flat.pk]), follow=True)
    assert "There is no open position to exit." in text_of(refused)
    assert Order.objects.count() == 1


def test_funds_show_the_ledger_with_its_running_balance(web, account):
    from orders.choices import LedgerKind
    from orders.services import funds_move

    funds_move(account=account, kind=LedgerKind.WITHDRAWAL, amount=Decimal("2500.50"))
    funds_move(account=account, kind=LedgerKind.DEPOSIT, amount=Decimal("100.00"))
    page = text_of(web.get(reverse("web:funds")))
    assert "Available ₹9,97,599.50" in page
    rows = page[page.index("Balance") :]
    # newest first, each with the balance after it
    assert rows.index("₹100.00 ₹9,97,599.50") < rows.index("-₹2,500.50 ₹9,97,499.50")
    assert rows.index("-₹2,500.50 ₹9,97,499.50") < rows.index("₹10,00,000.00 ₹10,00,000.00")


def test_an_orders_page_shows_its_history_and_its_trades_with_their_charges(web, account):
    from orders.services import fill_apply, order_transition

    web.post(reverse("web:ticket"), {**LIMIT_BUY, "action": "place"})
    order = Order.objects.get()
    order_transition(order, "OPEN")  # at the exchange (the submit task runs after commit)
    fill_apply(order=order, broker_fill_id="T-1", quantity=10, price=Decimal("1300.00"))
    fill = order.fills.get()
    page = text_of(web.get(reverse("web:order", args=[order.pk])))
    assert "Order accepted" in page
    assert page.index("Order accepted") < page.index("Order filled")
    assert "STT" in page
    assert f"₹{fill.charges['stt']}" in page
    assert f"₹{fill.charges_total}" in page
    assert "by asha" in page  # who placed it


def test_the_pnl_curve_is_the_chosen_accounts_days_trades(web, account):
    answer = web.get(reverse("web:pnl-curve")).json()
    assert answer["points"] == []  # no trades yet
    assert len(answer["day"]) == 10


def test_funds_list_the_clients_contract_notes_to_download_and_no_one_elses(web, notes):
    asha_note, ravi_note = notes
    page = html_of(web.get(reverse("web:funds")))
    assert asha_note.number in page
    assert ravi_note.number not in page
    pdf = web.get(reverse("api:contract-note-file", args=[asha_note.number, "pdf"]))
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    theirs = web.get(reverse("api:contract-note-file", args=[ravi_note.number, "pdf"]))
    assert theirs.status_code == 404
