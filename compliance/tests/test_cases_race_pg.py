"""Races on PostgreSQL: officers approving one closure at once close the case once (and
file its STR once); officers opening cases on one alert at once file it in one case; none
of it deadlocks."""

import pytest
from django.db import connection

from compliance.cases.models import Case, CaseStatus, StrReport, StrStatus
from compliance.cases.services import CaseRefused, case_close_approve, case_open
from compliance.models import AuditEvent
from compliance.verify import audit_verify
from conftest import require, together

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def second_officers(user_in_role):
    require(connection.vendor == "postgresql", "PostgreSQL: SQLite cannot show a race")
    return [user_in_role("Compliance Officer", f"second{i}") for i in range(5)]


def test_concurrent_approvals_file_the_str_once(second_officers, worked_case):
    case = worked_case("str_filed")
    outcomes = together(lambda i: case_close_approve(case=case, actor=second_officers[i]), 5)
    assert sum(isinstance(o, Case) for o in outcomes) == 1, outcomes
    assert sum(isinstance(o, CaseRefused) for o in outcomes) == 4, outcomes
    case.refresh_from_db()
    assert case.status == CaseStatus.STR_FILED
    report = StrReport.objects.get(case=case)
    assert (report.status, report.approved_by) == (StrStatus.FILED, case.closed_by)
    assert AuditEvent.objects.filter(action="case.closed").count() == 1
    assert AuditEvent.objects.filter(action="str.filed").count() == 1
    assert audit_verify().ok


def test_concurrent_cases_on_one_alert_file_it_once(second_officers, open_alerts):
    outcomes = together(
        lambda i: case_open(title=f"by {i}", actor=second_officers[i], alerts=open_alerts), 5
    )
    assert sum(isinstance(o, Case) for o in outcomes) == 1, outcomes
    assert sum(isinstance(o, CaseRefused) for o in outcomes) == 4, outcomes
    (case,) = [o for o in outcomes if isinstance(o, Case)]
    assert set(case.alerts.values_list("pk", flat=True)) == {a.pk for a in open_alerts}
    assert Case.objects.count() == 1
