"""Positions in a real browser: a MARKET buy placed from the ticket fills, its position's
P&L moves with the feed, 4 of its shares convert to CNC, and Exit squares off the rest
through the order path."""

import pytest

from orders.models import Order, Position
from tradingsite.tests.browser import offline_page, screenshot
from web.tests.conftest import console_errors, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_market_buy_fills_its_pnl_moves_and_exit_squares_it_off(
    live_server, chromium, account, asha, ticking
):
    with offline_page(chromium, live_server.url) as (page, blocked):
        errors = console_errors(page)
        sign_in(page, live_server.url)
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
        for _ in range(40):  # not time.sleep: the route guard runs inside Playwright calls
            page.wait_for_timeout(500)
            seen.add(pnl.inner_text())
            if len(seen) > 1:
                break
        day = page.locator("#day tr[data-key='NSE:INFY']")
        assert day.locator("td").nth(0).inner_text() == "10"  # bought today
        page.wait_for_function(
            "() => /\\d/.test(document.querySelector('#day td.pnl').textContent)"
        )
        screenshot(page, "web-positions")
        assert len(seen) > 1, f"the P&L stayed at {seen}"
        assert page.locator("#total-pnl-net").inner_text().strip() != ""

        mis = Position.objects.get(account=account, product="MIS")
        page.fill(f"#convert-{mis.pk}", "4")
        page.click("button[aria-label='Convert INFY MIS to CNC']")
        page.wait_for_url("**/positions/")
        assert "Converted 4 INFY from MIS to CNC." in page.inner_text("main")
        assert page.locator("#positions tr[data-product='CNC'] td.qty").inner_text() == "4"

        page.click("button[aria-label='Exit INFY MIS']")
        page.wait_for_url("**/positions/")
        assert "Exit order" in page.inner_text("main")
        sold = Order.objects.exclude(pk=bought.pk).get()
        assert (sold.transaction_type, sold.quantity, sold.product, sold.order_type) == (
            "SELL", 6, "MIS", "MARKET"
        )  # fmt: skip
        for _ in range(40):
            if Position.objects.get(account=account, product="MIS").quantity == 0:
                break
            page.wait_for_timeout(250)
        assert Position.objects.get(account=account, product="MIS").quantity == 0
        assert Position.objects.get(account=account, product="CNC").quantity == 4
    assert errors == []
    assert blocked == []
