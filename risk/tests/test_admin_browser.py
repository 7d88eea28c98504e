"""The risk desk's day in a real browser: a limit proposed by one risk manager and approved by
another, exposure watched, an account halted with its open orders cancelled, and the reset
refused to the one who tripped it."""

from decimal import Decimal

import pytest
from django.test import Client

from conftest import login_with_second_factor
from orders.models import Order
from orders.services import order_place
from orders.tests.fixtures import request
from risk.models import KillSwitch, RiskLimit
from tradingsite.tests.browser import offline_page, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def session_of(user) -> str:
    return login_with_second_factor(Client(), user).cookies["sessionid"].value


def act(page, url: str, row_text: str, action: str) -> str:
    """Tick the changelist row holding ``row_text``, run ``action``; return the messages."""
    page.goto(url)
    page.locator("#result_list tbody tr", has_text=row_text).locator("input.action-select").check()
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")
    return page.locator("ul.messagelist").inner_text()


def test_a_risk_managers_day(live_server, chromium, account, risk_managers, settings):
    rina, ravi = risk_managers
    resting = order_place(
        account=account, request=request(order_type="LIMIT", price=Decimal("1400.00"))
    ).order
    base = live_server.url
    with offline_page(chromium, base) as (page, blocked):
        cookie = {"name": "sessionid", "url": base}
        page.context.add_cookies([cookie | {"value": session_of(rina)}])
        page.goto(f"{base}/admin/risk/limitchange/add/")
        page.select_option("#id_scope", "account")
        page.select_option("#id_kind", "max_order_quantity")
        page.select_option("#id_account", str(account.pk))
        page.fill("#id_value", "500")
        page.fill("#id_reason", "new client, small start")
        page.click("input[name=_save]")
        assert "proposed" in act(page, f"{base}/admin/risk/limitchange/", "500", "approve_changes")
        assert not RiskLimit.objects.filter(kind="max_order_quantity").exists()

        page.context.add_cookies([cookie | {"value": session_of(ravi)}])
        assert "approved" in act(page, f"{base}/admin/risk/limitchange/", "500", "approve_changes")
        assert RiskLimit.objects.get(kind="max_order_quantity").value == Decimal(500)

        page.goto(f"{base}/admin/risk/accountexposure/")
        row = page.locator("#result_list tbody tr", has_text="TS0001").inner_text()
        assert "TS0001" in row
        screenshot(page, "risk-exposure")
        message = act(
            page, f"{base}/admin/risk/accountexposure/", "TS0001", "trip_account_switches"
        )
        assert "1 open order(s) cancelled" in message
        page.goto(f"{base}/admin/orders/order/{resting.pk}/change/")
        assert "Cancelled" in page.content() or "CANCELLED" in page.content()

        switch = KillSwitch.objects.get()
        refused = act(page, f"{base}/admin/risk/killswitch/", "TS0001", "reset_switches")
        assert "second risk manager" in refused
        page.context.add_cookies([cookie | {"value": session_of(rina)}])
        assert "reset" in act(page, f"{base}/admin/risk/killswitch/", "TS0001", "reset_switches")
        switch.refresh_from_db()
        assert (switch.tripped_by, switch.reset_by) == (ravi, rina)
        assert blocked == []
    assert Order.objects.get(pk=resting.pk).status == "CANCELLED"
