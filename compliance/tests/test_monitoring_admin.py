"""Monitoring rules and alerts in the admin: a rule's parameters are checked against the
monitoring rule's expected keys (a bad one gets a clear error, nothing saved), and the
queue separates monitoring from surveillance alerts by kind."""

import datetime as dt
import json

import pytest
from django.test import Client as WebClient
from django.utils import timezone

from compliance.alerts.models import AlertRule
from compliance.alerts.services import alert_raise
from compliance.models import AuditEvent

pytestmark = pytest.mark.django_db
QUEUE = "/admin/compliance/alert/"


@pytest.fixture
def officer(user_in_role, otp_login):
    return otp_login(WebClient(), user_in_role("Compliance Officer", "officer1"))


def test_a_bad_monitoring_param_gets_a_clear_error_and_nothing_is_saved(officer):
    rule = AlertRule.objects.get(code="structuring")
    url = f"/admin/compliance/alertrule/{rule.pk}/change/"
    page = officer.get(url)
    assert b"<code>threshold_rupees</code> (rupees)" in page.content  # its expected keys
    bad = officer.post(
        url,
        {"params": '{"lookback_days": 7, "threshold_rupees": -1, "band_pct": 110, "count": 3}',
         "enabled": "on"},
    )  # fmt: skip
    assert bad.status_code == 200
    errors = " ".join(bad.context["adminform"].form.errors["params"])
    assert "structuring: threshold_rupees must not be negative" in errors
    assert "band_pct is a percentage: at most 100" in errors
    assert "missing parameter 'min_count'" in errors
    assert "unknown parameter 'count'" in errors
    rule.refresh_from_db()
    assert rule.params["threshold_rupees"] == 1000000  # nothing saved
    good = officer.post(
        url,
        {"params": '{"lookback_days": 10, "threshold_rupees": 500000, "band_pct": 5, '
                   '"min_count": 4}', "enabled": "on"},
    )  # fmt: skip
    assert good.status_code == 302
    rule.refresh_from_db()
    assert rule.params["min_count"] == 4
    event = AuditEvent.objects.get(action="alert_rule.changed")
    assert event.before["params"]["min_count"] == 3


def test_income_bounds_are_checked_range_by_range(officer):
    rule = AlertRule.objects.get(code="income_mismatch")
    bounds = dict(rule.params["income_upper_rupees"], above_1cr="a lot")
    del bounds["below_1l"]
    params = {"lookback_days": 30, "max_income_pct": 50, "income_upper_rupees": bounds}
    bad = officer.post(
        f"/admin/compliance/alertrule/{rule.pk}/change/",
        {"params": json.dumps(params), "enabled": "on"},
    )
    errors = " ".join(bad.context["adminform"].form.errors["params"])
    assert "income_upper_rupees must have exactly the income ranges (missing below_1l)" in errors
    assert rule.params == AlertRule.objects.get(pk=rule.pk).params  # nothing saved


def test_the_queue_filters_monitoring_apart_from_surveillance(officer):
    end = timezone.now()
    window = (end - dt.timedelta(days=30), end)
    mine = alert_raise(rule=AlertRule.objects.get(code="funds_through"), subject_key="client:1",
                       window=window, summary="client 1 paid in and took out",
                       evidence=[{"kind": "ledger", "id": 5}])  # fmt: skip
    alert_raise(rule=AlertRule.objects.get(code="wash_trade"), subject_key="client:1|i:1",
                window=window, summary="INFY: client 1 bought and sold")  # fmt: skip
    shown = officer.get(QUEUE, {"rule__kind__exact": AlertRule.Kind.MONITORING})
    assert [a.pk for a in shown.context["cl"].result_list] == [mine.pk]
    assert b"Transaction monitoring (PMLA)" in shown.content  # the kind filter's choice
    detail = officer.get(f"{QUEUE}{mine.pk}/change/")
    assert b"ledger 5" in detail.content
