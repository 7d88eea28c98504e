"""A new staff member's first sign-in in a real browser: password, then setting up the
authenticator from the page's key and QR code, then the admin; no CSP violation, no CDN."""

import base64

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tradingsite.tests.browser import offline_page, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_first_sign_in_sets_up_the_authenticator(live_server, chromium, user_in_role):
    user_in_role("Compliance Officer")
    base = live_server.url
    with offline_page(chromium, base) as (page, blocked):
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        page.goto(f"{base}/admin/")
        page.fill("#id_username", "compliance_officer")
        page.fill("#id_password", "not-a-real-password-1")
        page.click("input[type=submit]")

        page.get_by_role("heading", name="Set up two-factor sign-in").wait_for(timeout=20000)
        qr = page.locator(".totp-qr svg")
        assert qr.bounding_box()["width"] >= 150  # drawn and visible
        key = page.inner_text("#totp-key").strip()
        screenshot(page, "totp-enrol")
        code = TOTP(base64.b32decode(key + "=" * (-len(key) % 8))).token()
        page.fill("#id_code", str(code).zfill(6))
        page.click("#totp-enrol-form input[type=submit]")

        page.get_by_role("heading", name="Back office").wait_for(timeout=20000)
        assert "Two-factor sign-in is set up." in page.content()
        assert blocked == []
        assert not [text for text in console if "Content Security Policy" in text], console
    assert TOTPDevice.objects.get(user__username="compliance_officer").confirmed
