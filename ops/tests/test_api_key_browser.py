"""The README's path for an algo developer, in Chromium: an administrator creates a key in
the admin with a static IP, copies the secret shown once, and the shipped client places a
signed order with it."""

import pytest
from django.test import Client

from ops.models import ApiKey
from orders.models import Order
from tradingsite.tests.browser import offline_page, screenshot
from tradingsite_client import ApiError, TradingSite

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_a_key_in_the_admin_and_trade_with_it(
    live_server, chromium, account, user_in_role, otp_login
):
    algo = user_in_role("Algo Client", "algo")
    account.users.add(algo)
    session = otp_login(Client(), user_in_role("Administrator", "admin")).cookies["sessionid"]
    base = live_server.url
    with offline_page(chromium, base) as (page, blocked):
        page.context.add_cookies([{"name": "sessionid", "value": session.value, "url": base}])
        page.goto(f"{base}/admin/ops/apikey/add/")
        page.select_option("#id_user", label="algo")
        page.select_option("#id_account", label=str(account))
        page.fill("#id_label", "momentum box")
        page.select_option("#id_scope", "trade")
        page.fill("#id_algo_id", "NSE-ALGO-7")
        page.fill("#id_primary_ip", "127.0.0.1")
        page.click("input[name=_save]")
        key_id = page.inner_text("#issued-keys code.key-id")
        secret = page.inner_text("#issued-keys code.secret")
        screenshot(page, "api-key-issued")
        page.goto(f"{base}/admin/ops/apikey/")
        assert secret not in page.content()  # shown once, never listed
        page.click(f"tr:has-text('{key_id}') >> text=Change static IPs")
        page.fill("#id_secondary_ip", "2001:db8::7")
        page.click("input[name=_save]")
        assert "at most once in 7 days" in page.inner_text(".errornote")
        assert blocked == []

    api = TradingSite(base, key_id=key_id, secret=secret)
    order = api.place_order("TS0001", "INFY", "BUY", 3)
    assert Order.objects.get(pk=order["order_id"]).algo_id == "NSE-ALGO-7"
    assert ApiKey.objects.get(key_id=key_id).static_ips == ["127.0.0.1"]
    with pytest.raises(ApiError) as refused:
        TradingSite(base, key_id=key_id, secret=secret + "x").me()
    assert refused.value.type == "signature-invalid"
