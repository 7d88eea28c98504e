"""Swagger UI and Redoc render in a real browser with no network beyond this server."""

import re

import pytest

from tradingsite.tests.browser import offline_page, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_renders_offline(live_server, chromium):
    with offline_page(chromium, live_server.url) as (page, blocked):
        page.goto(f"{live_server.url}/api/docs/")
        title = page.wait_for_selector(".swagger-ui .info .title", timeout=20000)
        assert "TradingSite API" in title.inner_text()
        page.locator(".opblock-summary-path", has_text="/api/v1/me").first.wait_for(timeout=20000)
        screenshot(page, "api-docs-swagger")
        assert blocked == []


def test_redoc_renders_offline(live_server, chromium):
    with offline_page(chromium, live_server.url) as (page, blocked):
        page.goto(f"{live_server.url}/api/redoc/")
        heading = page.get_by_role("heading", name=re.compile("TradingSite API"))
        heading.first.wait_for(timeout=20000)
        page.get_by_text("/api/v1/me").first.wait_for(state="attached", timeout=20000)
        screenshot(page, "api-docs-redoc")
        assert blocked == []
