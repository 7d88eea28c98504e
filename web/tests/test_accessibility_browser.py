"""The web app's pages against axe-core's WCAG 2.1 A and AA rules (contrast, labels, names,
landmarks...), in Debian's Chromium: no violation on any page a trader uses."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from tradingsite.tests.browser import offline_page, screenshot
from web import services
from web.tests.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WCAG_21_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
PAGES = [
    "/watch/", "/ticket/?key=NSE:INFY&side=BUY", "/orders/", "/positions/", "/funds/",
    "/chart/NSE:INFY/?interval=1d", "/strategies/",
]  # fmt: skip


def violations(page) -> list[str]:
    found = Axe().run(page, options=WCAG_21_AA).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(n['target'][0] for n in v['nodes'][:3])}"
        for v in found
    ]


def test_every_page_passes_wcag_21_aa(live_server, chromium, asha, account):
    from decimal import Decimal

    from compliance.reports.exports import report_export_request, report_export_run
    from orders.execution import execution_submit
    from orders.services import fill_apply, order_place
    from orders.validation import OrderRequest

    [watchlist] = services.watchlists_ensure(user=asha)
    services.watchlist_add(user=asha, watchlist_id=watchlist.pk, key="NSE:INFY")
    order_place(account=account, request=OrderRequest(  # the book has a row to modify
        exchange="NSE", tradingsymbol="INFY", transaction_type="BUY", order_type="LIMIT",
        product="CNC", quantity=1, price=Decimal("1300.00"),
    ))  # fmt: skip
    intraday = order_place(account=account, request=OrderRequest(  # a position to act on
        exchange="NSE", tradingsymbol="INFY", transaction_type="BUY", order_type="LIMIT",
        product="MIS", quantity=5, price=Decimal("1300.00"),
    )).order  # fmt: skip
    execution_submit(intraday.pk)
    fill_apply(order=intraday, broker_fill_id="a11y", quantity=5, price=Decimal("1300.00"))
    statement = report_export_request(  # funds list a statement to download
        user=asha, kind="holdings_statement", fmt="csv", data={"account": str(account.pk)},
        enqueue=False,
    )  # fmt: skip
    report_export_run(statement.pk)
    with offline_page(chromium, live_server.url) as (page, blocked):
        page.goto(live_server.url + "/login/")
        assert violations(page) == [], "/login/"
        sign_in(page, live_server.url)
        for path in PAGES:
            page.goto(live_server.url + path)
            page.wait_for_timeout(1200)  # the first poll has drawn the live values
            assert violations(page) == [], path
            name = path.split("?")[0].strip("/").replace("/", "-").replace(":", "-")
            screenshot(page, f"page-{name}")
        page.goto(live_server.url + "/watch/")
        page.click("button[aria-label='Market depth of INFY']")
        page.wait_for_timeout(1200)
        assert violations(page) == [], "/watch/ with the market depth open"
        assert blocked == []
