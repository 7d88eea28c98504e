"""Tipping-off: with a case open and an STR filed on their own account, a trader and a
client see nothing of either on any API route or page they can reach, and no admin page."""

import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client as WebClient

from compliance.alerts.models import AlertRule
from compliance.alerts.services import alert_raise
from compliance.cases.models import StrReport
from compliance.cases.services import case_close_approve
from tradingsite.tests.test_kept_records import api_routes, sample_argument

pytestmark = pytest.mark.django_db


@pytest.fixture
def reported(account, case_officers, worked_case, open_alerts):
    """The account's own client under a filed STR, and an open alert on it."""
    for alert in open_alerts:  # the fixture's alerts are on another client: move them
        type(alert).objects.filter(pk=alert.pk).update(client_id=account.client_id)
    case = case_close_approve(case=worked_case("str_filed"), actor=case_officers[1])
    type(case).objects.filter(pk=case.pk).update(client_id=account.client_id)
    alert_raise(
        rule=AlertRule.objects.get(code="wash_trade"), subject_key="tipping", summary="x",
        window=(case.opened_at, case.opened_at), client_id=account.client_id,
        account_id=account.pk,
    )  # fmt: skip
    report = StrReport.objects.get()
    return [case.ref, report.ref, "Self trades in INFY", "suspicious transaction",
            "compliance.case", "str_report", "alert.raised", "AML true match"]  # fmt: skip


@pytest.mark.parametrize("role", ["Trader", "Client"])
def test_no_route_shows_a_case_or_an_str(role, account, reported, api_client, settings):
    settings.API_RATE_PER_USER = 10_000
    user = account.users.get()
    user.groups.add(Group.objects.get(name=role))
    api_client.force_authenticate(user)
    web = WebClient()
    web.force_login(user)
    seen = 0
    for route, _view in api_routes():
        path = "/" + re.sub(r"<(\w+):(\w+)>", sample_argument, route)
        for answer in (api_client.get(path), web.get(path)):
            body = answer.content.decode(errors="replace")
            leaked = [marker for marker in reported if marker.lower() in body.lower()]
            assert not leaked, f"GET {path} as a {role} shows {leaked}"
            seen += answer.status_code == 200
    assert seen > 10, "the walk reached too few routes to mean anything"
    for page in ("/admin/", "/admin/compliance/case/", "/admin/compliance/strreport/",
                 "/admin/compliance/alert/"):  # fmt: skip
        answer = web.get(page)
        assert answer.status_code == 302, page
        assert answer["Location"].startswith("/admin/login/"), page
