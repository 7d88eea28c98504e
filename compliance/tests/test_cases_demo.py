"""The cases demo works the surveillance demo's alerts: one case filed as an STR (by two
officers), one under review; a second run changes nothing."""

from datetime import date, datetime, time
from io import StringIO

import pytest
import time_machine

from compliance.cases import demo as cases_demo
from compliance.cases.models import Case, CaseStatus, StrReport, StrStatus
from compliance.cases.selectors import str_report_data
from compliance.surveillance import demo
from marketdata.calendar import IST
from orders.tests.fixtures import quote

pytestmark = pytest.mark.django_db


def test_the_demo_files_one_str_and_leaves_one_case_to_work(
    market, monkeypatch, demo_officers, thin_stock
):
    officer, second = demo_officers
    priced = {"bid": "800.00", "ask": "800.05", "prev": "800.00"}
    quote("INFY", **priced)
    with time_machine.travel(datetime.combine(date(2026, 12, 2), time(11), IST), tick=True) as c:
        monkeypatch.setattr(demo.time, "sleep", lambda s: (c.shift(s), quote("INFY", **priced)))
        demo.seed(stdout=StringIO())
        out = StringIO()
        cases_demo.seed(stdout=out)
    assert "one filed as an STR, one under review" in out.getvalue()
    filed = Case.objects.get(title=cases_demo.FILED)
    assert (filed.status, filed.opened_by, filed.closed_by) == (
        CaseStatus.STR_FILED, officer, second,
    )  # fmt: skip
    report = StrReport.objects.get(case=filed)
    assert report.status == StrStatus.FILED
    assert report.data_sha256
    assert report.pdf_sha256
    # Its subjects are onboarded clients: the STR reports their KYC details.
    subjects = str_report_data(case=filed).subjects
    assert subjects
    assert all(s.date_of_birth and s.address and s.occupation for s in subjects)
    working = Case.objects.get(title=cases_demo.UNDER_REVIEW)
    assert working.status == CaseStatus.UNDER_REVIEW
    assert working.alerts.get().rule.code == "wash_trade"
    again = StringIO()
    cases_demo.seed(stdout=again)
    assert "already seeded" in again.getvalue()
    assert Case.objects.count() == 2
