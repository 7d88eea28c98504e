"""The web app in a real browser (Debian's Chromium, headless, nothing off the origin): a
trader signs in at /login/, adds INFY to a watchlist by search and sees its price move with
the feed and opens its market depth (5 levels a side); no console errors; a phone-sized
screen shows the same list."""

import pytest

from tradingsite.tests.browser import offline_page, screenshot
from web.tests.conftest import PASSWORD, console_errors

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_trader_signs_in_adds_infy_and_sees_its_price_move(
    live_server, chromium, ticking, user_in_role
):
    user_in_role("Trader", "tara")
    with offline_page(chromium, live_server.url) as (page, blocked):
        errors = console_errors(page)
        page.goto(live_server.url + "/")
        assert page.url.endswith("/login/")
        screenshot(page, "web-login")
        page.fill("#id_username", "tara")
        page.fill("#id_password", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_url("**/watch/")
        assert "This list is empty" in page.inner_text("main")

        page.fill("#search", "INFY")
        page.press("#search", "Enter")
        page.click("button[aria-label='Add INFY']")
        row = page.locator("#watch tbody tr[data-key='NSE:INFY']")
        row.wait_for()
        ltp = row.locator("td.ltp")
        page.wait_for_function(
            "() => /\\d/.test(document.querySelector('#watch td.ltp').textContent)",
            timeout=10000,
        )
        first = ltp.inner_text()
        seen = {first}
        for _ in range(40):  # not time.sleep: the route guard runs inside Playwright calls
            page.wait_for_timeout(500)
            seen.add(ltp.inner_text())
            if len(seen) > 1:
                break
        screenshot(page, "web-watch")
        assert len(seen) > 1, f"INFY's price did not move from {first}"
        assert page.locator("#watch-error").is_hidden()
        assert "Demo clock" in page.inner_text("header")

        row.hover()  # D on the row under the pointer opens its depth, as on Kite
        page.keyboard.press("d")
        depth = page.locator("table.depth[aria-label='Market depth of INFY']")
        depth.wait_for()
        assert row.locator("button.depth-toggle").get_attribute("aria-expanded") == "true"
        page.wait_for_function(
            "() => /\\d/.test(document.querySelector('table.depth .total-sell').textContent)"
        )
        levels = depth.locator(":scope > tbody > tr")
        assert levels.count() == 5
        bids = [float(levels.nth(n).locator("td").nth(0).inner_text().replace(",", ""))
                for n in range(5)]  # fmt: skip
        offers = [float(levels.nth(n).locator("td").nth(3).inner_text().replace(",", ""))
                  for n in range(5)]  # fmt: skip
        assert bids == sorted(bids, reverse=True), bids
        assert offers == sorted(offers), offers
        assert bids[0] < offers[0]
        screenshot(page, "web-watch-depth")
        row.locator("button.depth-toggle").click()
        assert depth.is_hidden()

        page.set_viewport_size({"width": 375, "height": 740})
        page.reload()
        row.wait_for()
        page.wait_for_function(
            "() => /\\d/.test(document.querySelector('#watch td.ltp').textContent)"
        )
        for shown in (row.locator("td.ltp"), row.locator("button[aria-label='Remove INFY']")):
            box = shown.bounding_box()
            assert box is not None
            assert 0 <= box["x"] <= box["x"] + box["width"] <= 375, box
        screenshot(page, "web-watch-phone")
        assert errors == []
        assert blocked == []
