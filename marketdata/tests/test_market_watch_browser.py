"""The market watch page shows NIFTY 50 quotes moving, in a real browser, with no CDN."""

import threading
import time

import pytest
from django.test import Client

from marketdata.feed import feed_tick
from marketdata.importers import parse_index_constituents
from marketdata.management.commands.import_instruments import NIFTY_50_FILE
from marketdata.selectors import instrument_specs
from marketdata.services import instruments_import
from tradingsite.tests.browser import offline_page, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def ltps(page) -> list[str]:
    return page.locator("#market-watch tbody td.ltp").all_inner_texts()


def test_quotes_move_every_second(live_server, chromium, settings, user_in_role, otp_login):
    settings.MARKETDATA_ALWAYS_OPEN = True
    instruments_import(
        rows=parse_index_constituents(NIFTY_50_FILE.read_text()).rows, index="NIFTY 50"
    )
    instrument_specs()  # loaded here, so the feed thread needs no database
    client = otp_login(Client(), user_in_role("Risk Manager"))
    session = client.cookies["sessionid"].value

    stop = threading.Event()

    def feed() -> None:
        while not stop.is_set():
            feed_tick()
            time.sleep(0.5)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        with offline_page(chromium, live_server.url) as (page, blocked):
            page.context.add_cookies(
                [{"name": "sessionid", "value": session, "url": live_server.url}]
            )
            page.goto(f"{live_server.url}/admin/marketdata/instrument/watch/")
            page.locator("#market-watch tbody tr").nth(49).wait_for(timeout=20000)
            first = ltps(page)
            page.wait_for_timeout(
                3000
            )  # not time.sleep: the route guard runs inside Playwright calls
            later = ltps(page)
            screenshot(page, "market-watch")
            assert len(first) == len(later) == 50
            assert sum(a != b for a, b in zip(first, later, strict=True)) >= 10
            assert page.locator("#watch-error").is_hidden(), page.inner_text("#watch-error")
            assert "Demo clock" in page.content()
            assert blocked == []
    finally:
        stop.set()
        feeder.join(timeout=5)
