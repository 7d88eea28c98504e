"""The web app in a real browser (Debian's Chromium, headless, nothing off the origin): a
trader signs in at /login/, adds INFY to a watchlist by search and sees its price move with
the feed; no console errors; a phone-sized screen shows the same list."""

import threading
import time

import pytest

from marketdata.feed import feed_tick
from marketdata.importers import parse_index_constituents
from marketdata.management.commands.import_instruments import NIFTY_50_FILE
from marketdata.selectors import instrument_specs
from marketdata.services import instruments_import
from tradingsite.tests.browser import offline_page, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "not-a-real-password-1"


@pytest.fixture
def feed(settings):
    """The NIFTY 50 and a feed thread ticking twice a second."""
    settings.MARKETDATA_ALWAYS_OPEN = True
    instruments_import(
        rows=parse_index_constituents(NIFTY_50_FILE.read_text()).rows, index="NIFTY 50"
    )
    instrument_specs()  # loaded here, so the feed thread needs no database
    stop = threading.Event()

    def ticks() -> None:
        while not stop.is_set():
            feed_tick()
            time.sleep(0.5)

    thread = threading.Thread(target=ticks, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=5)


def test_a_trader_signs_in_adds_infy_and_sees_its_price_move(
    live_server, chromium, feed, user_in_role
):
    user_in_role("Trader", "tara")
    with offline_page(chromium, live_server.url) as (page, blocked):
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
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
        for _ in range(20):  # not time.sleep: the route guard runs inside Playwright calls
            page.wait_for_timeout(500)
            seen.add(ltp.inner_text())
            if len(seen) > 1:
                break
        screenshot(page, "web-watch")
        assert len(seen) > 1, f"INFY's price did not move from {first}"
        assert page.locator("#watch-error").is_hidden()
        assert "Demo clock" in page.inner_text("header")

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
