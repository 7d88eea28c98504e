"""The order ticket and the book in a real browser (Debian's Chromium, nothing off the
origin): B on a watched row opens the ticket, a LIMIT buy is previewed and placed, shows in
the book, is modified and cancelled there; a rejected order names its limit; no console
errors; at a phone's width the ticket still places an order."""

from decimal import Decimal

import pytest

from orders.models import Order
from risk.choices import LimitKind, Scope
from tradingsite.tests.browser import offline_page, screenshot
from web import services
from web.tests.conftest import console_errors, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def watcher(asha):
    """asha, with INFY on her watchlist."""
    [watchlist] = services.watchlists_ensure(user=asha)
    services.watchlist_add(user=asha, watchlist_id=watchlist.pk, key="NSE:INFY")
    return asha


def test_a_limit_buy_from_the_watch_is_placed_modified_and_cancelled(
    live_server, chromium, watcher
):
    with offline_page(chromium, live_server.url) as (page, blocked):
        errors = console_errors(page)
        sign_in(page, live_server.url)
        page.hover("#watch tr[data-key='NSE:INFY']")
        page.keyboard.press("b")
        page.wait_for_url("**/ticket/?key=NSE%3AINFY&side=BUY")
        assert page.is_checked("#id_transaction_type_0")
        page.select_option("#id_order_type", "LIMIT")
        page.fill("#id_quantity", "10")
        page.fill("#id_price", "1300.00")
        assert page.is_disabled("#id_trigger_price")
        page.click("button[value=preview]")
        page.locator("#preview").wait_for()
        assert "Required funds ₹13,000.00" in page.inner_text("#preview")
        screenshot(page, "web-ticket-preview")
        assert not Order.objects.exists()

        page.click("#place")
        page.wait_for_url("**/orders/")
        order = Order.objects.get()
        row = page.locator(f"#orders tr[data-id='{order.pk}']")
        assert row.locator("td.status").inner_text().startswith(("ACCEPTED", "OPEN"))
        screenshot(page, "web-orders")
        row.locator(f"#price-{order.pk}").fill("1305.00")
        row.locator("button", has_text="Modify").click()
        page.wait_for_load_state()
        order.refresh_from_db()
        assert order.price == Decimal("1305.00")
        page.locator(f"#orders tr[data-id='{order.pk}'] button.danger").click()
        page.wait_for_load_state()
        order.refresh_from_db()
        assert order.status == "CANCELLED"
        assert "CANCELLED" in page.locator(f"#orders tr[data-id='{order.pk}']").inner_text()
        page.goto(live_server.url + "/watch/")
        page.keyboard.press("Escape")  # nothing to leave on the watch
    assert errors == []
    assert blocked == []


def test_a_rejection_names_its_limit_and_a_phone_can_place(
    live_server, chromium, watcher, account, set_limit
):
    set_limit(Scope.ACCOUNT, LimitKind.MAX_ORDER_QUANTITY, Decimal(5), account=account)
    with offline_page(chromium, live_server.url) as (page, blocked):
        errors = console_errors(page)
        page.set_viewport_size({"width": 375, "height": 740})
        sign_in(page, live_server.url)
        page.click("a[aria-label='Buy INFY']")
        page.fill("#id_quantity", "10")
        page.click("#place")
        alert = page.locator("#rejection")
        alert.wait_for()
        assert "limit 5" in alert.inner_text()
        screenshot(page, "web-ticket-rejected-phone")
        page.fill("#id_quantity", "5")
        box = page.locator("#place").bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= 375
        page.click("#place")
        page.wait_for_url("**/orders/")
        assert Order.objects.filter(status="REJECTED").count() == 1
        assert Order.objects.exclude(status="REJECTED").get().quantity == 5
        page.goto(live_server.url + "/ticket/?key=NSE:INFY")
        page.keyboard.press("Escape")
        page.wait_for_url("**/watch/")
    assert errors == []
    assert blocked == []
