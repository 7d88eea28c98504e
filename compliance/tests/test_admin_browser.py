"""The audit trail in a real browser, as an auditor reads it: the list with labelled actions
and its checkpoint schedule, then one event's page with every field and its JSON."""

import pytest
from django.test import Client

from compliance.services import audit_checkpoint, audit_record
from conftest import login_with_second_factor
from ops.schedules import schedules_install
from tradingsite.tests.browser import offline_page, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_auditor_reads_an_event(live_server, chromium, user_in_role, django_user_model):
    schedules_install()  # a transactional test starts with the beat tables flushed
    dealer = django_user_model.objects.create_user("dealer7", password="x" * 16)
    accepted = audit_record(action="order.accepted", object_type="orders.order", object_id="4242",
                 actor=dealer, source_ip="203.0.113.9", request_id="req-7f3a9c",
                 before={"status": "AMO"},
                 after={"status": "ACCEPTED", "quantity": 10, "price": "1401.50",
                        "instrument": "NSE:INFY", "reasons": []})  # fmt: skip
    checkpoint = audit_checkpoint()
    audit_record(action="risk.limit_widened", object_type="risk.risklimit", object_id="7",
                         actor=dealer, after={"kind": "max_order_value", "value": "6000000"})  # fmt: skip
    session = login_with_second_factor(Client(), user_in_role("Auditor")).cookies["sessionid"]
    base = live_server.url
    with offline_page(chromium, base) as (page, blocked):
        page.set_viewport_size({"width": 1280, "height": 900})
        page.context.add_cookies([{"name": "sessionid", "url": base, "value": session.value}])

        page.goto(f"{base}/admin/compliance/auditevent/")
        checkpoints = page.locator("#audit-checkpoints").inner_text()
        assert "daily at 23:55 IST" in checkpoints
        assert f"last: {checkpoint} at" in checkpoints
        assert page.get_by_text("Order accepted (order.accepted)").first.is_visible()
        assert page.get_by_text("Risk: limit widened (risk.limit_widened)").first.is_visible()
        screenshot(page, "audit-trail-list")

        page.goto(f"{base}/admin/compliance/auditevent/{accepted.pk}/change/")
        assert page.locator("pre.audit-json").nth(1).inner_text().startswith("{\n  ")
        assert page.get_by_text("dealer7 (user id").is_visible()
        assert page.locator("input[type=submit]").count() == 0
        screenshot(page, "audit-event-detail")
        page.locator("fieldset").last.scroll_into_view_if_needed()
        screenshot(page, "audit-event-detail-chain")
        assert blocked == []
