"""The chart page in a real browser: the bars request succeeds and the canvas shows candles
(not blank); an instrument without bars says so; nothing is fetched off the origin."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from marketdata import calendar
from marketdata.models import Bar, Instrument
from tradingsite.tests.browser import offline_page, screenshot
from web.tests.conftest import console_errors, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
#: How many colours a canvas shows: a blank one has one or two (background, grid).
COLOURS = """() => {
  let most = 0;
  for (const canvas of document.querySelectorAll('#chart canvas')) {
    if (!canvas.width || !canvas.height) continue;
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    const seen = new Set();
    for (let i = 0; i < data.length; i += 16) seen.add(data[i] << 16 | data[i + 1] << 8 | data[i + 2]);
    most = Math.max(most, seen.size);
  }
  return most;
}"""


def test_the_chart_draws_candles_from_the_bars_api(live_server, chromium, account, asha):
    instrument = Instrument.objects.get(tradingsymbol="INFY")
    day, rows, price = timezone.localdate(timezone.now(), calendar.IST), [], Decimal("1400")
    for i in range(120):
        day -= timedelta(days=1)
        step = Decimal(str(round(((i * 37) % 11 - 5) * 1.5, 2)))
        rows.append(Bar(instrument=instrument, interval="1d",
                        start=datetime.combine(day, time(9, 15), calendar.IST),
                        open=price, high=price + 12, low=price - 12, close=price + step,
                        volume=100_000 + i * 1000))  # fmt: skip
        price += step
    Bar.objects.bulk_create(rows)
    Instrument.objects.create(tradingsymbol="NOBARS", name="No Bars Ltd.")

    with offline_page(chromium, live_server.url) as (page, blocked):
        errors = console_errors(page)
        sign_in(page, live_server.url)
        with page.expect_response(lambda r: "/bars?" in r.url) as answer:
            page.goto(live_server.url + "/chart/NSE:INFY/?interval=1d")
        assert answer.value.status == 200
        page.wait_for_selector("#chart[data-drawn='120']")
        page.wait_for_timeout(300)  # the library paints on the next animation frame
        assert page.evaluate(COLOURS) > 8
        assert page.inner_text("#chart-legend").startswith("O ")
        screenshot(page, "web-chart")

        page.goto(live_server.url + "/chart/NSE:NOBARS/?interval=1m")
        page.locator("#chart-error").wait_for()
        assert "no bars in this range yet" in page.inner_text("#chart-error")
        assert page.goto(live_server.url + "/chart/NSE:NOPE/").status == 404
    assert [e for e in errors if "404" not in e] == []
    assert blocked == []
