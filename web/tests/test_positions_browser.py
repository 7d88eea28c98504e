"""Positions in a real browser: a MARKET buy placed from the ticket fills, its position's
P&L moves with the feed, and Exit squares it off through the order path."""

import threading
import time

import pytest
from django.contrib.auth.models import Group

from marketdata.feed import feed_tick
from marketdata.importers import parse_index_constituents
from marketdata.management.commands.import_instruments import NIFTY_50_FILE
from marketdata.selectors import instrument_specs
from marketdata.services import instruments_import
from orders.models import Order, Position
from tradingsite.tests.browser import offline_page, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "not-a-real-password-1"


@pytest.fixture
def ticking(account):
    """The NIFTY 50 (INFY among them) and a feed thread ticking four times a second."""
    instruments_import(
        rows=parse_index_constituents(NIFTY_50_FILE.read_text()).rows, index="NIFTY 50"
    )
    instrument_specs()
    stop = threading.Event()

    def ticks() -> None:
        while not stop.is_set():
            feed_tick()
            time.sleep(0.25)

    thread = threading.Thread(target=ticks, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=5)


def test_a_market_buy_fills_its_pnl_moves_and_exit_squares_it_off(
    live_server, chromium, account, ticking
):
    user = account.users.get()
    user.set_password(PASSWORD)
    user.save()
    user.groups.add(Group.objects.get(name="Trader"))
    errors: list[str] = []
    with offline_page(chromium, live_server.url) as (page, blocked):
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(live_server.url + "/login/")
        page.fill("#id_username", "asha")
        page.fill("#id_password", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_url("**/watch/")
        page.goto(live_server.url + "/ticket/?key=NSE:INFY&side=BUY")
        page.select_option("#id_product", "MIS")
        page.fill("#id_quantity", "10")
        page.click("#place")
        page.wait_for_url("**/orders/")
        bought = Order.objects.get()
        for _ in range(40):
            bought.refresh_from_db()
            if bought.status == "COMPLETE":
                break
            page.wait_for_timeout(250)
        assert bought.status == "COMPLETE", bought.status

        page.click("nav a:has-text('Positions')")
        page.wait_for_url("**/positions/")
        pnl = page.locator("#positions tr[data-key='NSE:INFY'] td.pnl")
        page.wait_for_function(
            "() => /\\d/.test(document.querySelector('#positions td.pnl').textContent)"
        )
        seen = {pnl.inner_text()}
        for _ in range(30):  # not time.sleep: the route guard runs inside Playwright calls
            page.wait_for_timeout(500)
            seen.add(pnl.inner_text())
            if len(seen) > 1:
                break
        screenshot(page, "web-positions")
        assert len(seen) > 1, f"the P&L stayed at {seen}"
        assert page.locator("#total-pnl-net").inner_text().strip() != ""

        page.click("button[aria-label='Exit INFY MIS']")
        page.wait_for_url("**/positions/")
        assert "Exit order" in page.inner_text("main")
        sold = Order.objects.exclude(pk=bought.pk).get()
        assert (sold.transaction_type, sold.quantity, sold.product, sold.order_type) == (
            "SELL", 10, "MIS", "MARKET"
        )  # fmt: skip
        for _ in range(40):
            if Position.objects.get(account=account, product="MIS").quantity == 0:
                break
            page.wait_for_timeout(250)
        assert Position.objects.get(account=account, product="MIS").quantity == 0
    assert errors == []
    assert blocked == []
