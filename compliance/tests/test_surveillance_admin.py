"""The alert queue and its rules in the admin: filters and counts, bulk assignment and
dismissal through the services (audited), rule parameters checked against each rule's
expected keys, and auditors who see it all and change nothing."""

import datetime as dt

import pytest
from django.test import Client as WebClient
from django.utils import timezone

from compliance.alerts.models import Alert, AlertRule
from compliance.alerts.services import alert_raise
from compliance.models import AuditEvent

pytestmark = pytest.mark.django_db
QUEUE = "/admin/compliance/alert/"


@pytest.fixture
def raised():
    """Three open alerts: two wash trades (one high priority) and a spoofing one."""
    wash = AlertRule.objects.get(code="wash_trade")
    spoof = AlertRule.objects.get(code="spoofing")
    end = timezone.now()
    window = (end - dt.timedelta(hours=6), end)
    return [
        alert_raise(rule=wash, subject_key="client:1|instrument:1", window=window,
                    summary="INFY: client 1 bought and sold 100", evidence=[{"kind": "fill", "id": 1}]),
        alert_raise(rule=wash, subject_key="group:2|instrument:1", window=window,
                    summary="INFY: linked clients 2, 3", priority=Alert.Priority.HIGH),
        alert_raise(rule=spoof, subject_key="client:4|instrument:1", window=window,
                    summary="INFY: client 4 placed and cancelled 5000"),
    ]  # fmt: skip


@pytest.fixture
def officer(user_in_role, otp_login):
    user = user_in_role("Compliance Officer", "officer1")
    return user, otp_login(WebClient(), user)


@pytest.fixture
def auditor(user_in_role, otp_login):
    return otp_login(WebClient(), user_in_role("Auditor", "auditor1"))


def test_the_queue_shows_counts_and_filters_by_rule_and_priority(officer, raised):
    _, web = officer
    page = web.get(QUEUE)
    assert page.status_code == 200
    text = " ".join(page.content.decode().split())
    assert "<strong>Open:</strong> 3" in text
    assert "<strong>high priority:</strong> 1" in text
    assert "Wash or self trades: 2" in text
    wash = AlertRule.objects.get(code="wash_trade")
    filtered = web.get(QUEUE, {"rule__id__exact": wash.pk, "priority__exact": 3})
    assert [a.pk for a in filtered.context["cl"].result_list] == [raised[1].pk]
    aged = web.get(QUEUE, {"age": "old"})
    assert list(aged.context["cl"].result_list) == []
    young = web.get(QUEUE, {"age": "1"})
    assert len(young.context["cl"].result_list) == 3


def test_bulk_assignment_to_an_officer_is_audited(officer, raised):
    user, web = officer
    response = web.post(
        QUEUE,
        {"action": "assign_to_officer", "_selected_action": [a.pk for a in raised[:2]],
         "assignee": user.pk},
        follow=True,
    )  # fmt: skip
    assert response.status_code == 200
    assert [a.assignee_id for a in Alert.objects.order_by("pk")] == [user.pk, user.pk, None]
    events = AuditEvent.objects.filter(action="alert.assigned")
    assert events.count() == 2
    assert {e.actor_username for e in events} == {"officer1"}


def test_dismissal_needs_a_reason_and_is_audited(officer, raised):
    _, web = officer
    payload = {"action": "dismiss_alerts", "_selected_action": [raised[2].pk]}
    web.post(QUEUE, {**payload, "reason": ""}, follow=True)
    assert Alert.objects.get(pk=raised[2].pk).status == Alert.Status.OPEN
    web.post(QUEUE, {**payload, "reason": "market maker's hedge, known"}, follow=True)
    alert = Alert.objects.get(pk=raised[2].pk)
    assert alert.status == Alert.Status.DISMISSED
    assert alert.detail["dismissal"] == "market maker's hedge, known"
    event = AuditEvent.objects.get(action="alert.dismissed")
    assert event.after["reason"] == "market maker's hedge, known"
    again = web.post(QUEUE, {**payload, "reason": "again"}, follow=True)
    assert b"is Dismissed (no action), not open" in again.content
    assert AuditEvent.objects.filter(action="alert.dismissed").count() == 1


def test_an_officer_edits_a_rules_params_and_a_bad_param_gets_a_clear_error(officer):
    _, web = officer
    rule = AlertRule.objects.get(code="wash_trade")
    url = f"/admin/compliance/alertrule/{rule.pk}/change/"
    bad = web.post(url, {"params": '{"window_seconds": -5, "tolerance": 1}', "enabled": "on"})
    assert bad.status_code == 200
    errors = " ".join(bad.context["adminform"].form.errors["params"])
    assert "window_seconds must be more than 0" in errors
    assert "missing parameter 'price_tolerance_pct'" in errors
    assert "unknown parameter 'tolerance'" in errors
    rule.refresh_from_db()
    assert rule.params["window_seconds"] == 60  # nothing saved
    good = web.post(
        url, {"params": '{"window_seconds": 30, "price_tolerance_pct": 0.05}', "enabled": "on"}
    )
    assert good.status_code == 302
    rule.refresh_from_db()
    assert rule.params == {"window_seconds": 30, "price_tolerance_pct": 0.05}
    event = AuditEvent.objects.get(action="alert_rule.changed")
    assert event.before["params"]["window_seconds"] == 60
    assert event.after["params"]["window_seconds"] == 30


def test_an_auditor_sees_the_queue_and_rules_and_changes_nothing(auditor, raised):
    page = auditor.get(QUEUE)
    assert page.status_code == 200
    assert b"assign_to_officer" not in page.content
    assert b"dismiss_alerts" not in page.content
    refused = auditor.post(
        QUEUE, {"action": "dismiss_alerts", "_selected_action": [raised[0].pk], "reason": "x"}
    )
    assert refused.status_code in (200, 302, 403)
    assert Alert.objects.get(pk=raised[0].pk).status == Alert.Status.OPEN
    detail = auditor.get(f"{QUEUE}{raised[0].pk}/change/")
    assert detail.status_code == 200
    assert b"fill 1" in detail.content
    rule = AlertRule.objects.get(code="wash_trade")
    url = f"/admin/compliance/alertrule/{rule.pk}/change/"
    assert auditor.get(url).status_code == 200
    assert auditor.post(url, {"params": "{}", "enabled": "on"}).status_code == 403
    rule.refresh_from_db()
    assert rule.params["window_seconds"] == 60


def test_traders_and_clients_get_no_admin_page_of_alerts(user_in_role, raised, otp_login):
    for role in ("Trader", "Client"):
        web = otp_login(WebClient(), user_in_role(role))
        for url in (QUEUE, f"{QUEUE}{raised[0].pk}/change/", "/admin/compliance/alertrule/"):
            response = web.get(url)
            assert response.status_code == 302  # to the admin's sign-in: they are not staff
            assert "login" in response["Location"]


def test_alerts_are_assigned_only_to_an_officer(raised, user_in_role):
    from compliance.alerts.services import AlertNotOpen, alert_assign

    trader = user_in_role("Trader")
    with pytest.raises(AlertNotOpen, match="may not assign this queue"):
        alert_assign(alerts=raised, assignee=trader, actor=trader)
    assert not Alert.objects.filter(assignee__isnull=False).exists()
