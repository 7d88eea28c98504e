"""Cases through their services: opened from open alerts (or an AML true match), worked,
escalated, and closed only by a second officer, on every path the code offers (the
services, and the database's own constraint against the shell); each change audited on
the firm's chain."""

import datetime as dt

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from compliance.alerts.models import Alert
from compliance.alerts.services import alert_dismiss
from compliance.cases.models import Case, CaseNote, CaseStatus
from compliance.cases.services import (
    CaseRefused,
    case_add_alerts,
    case_assign,
    case_close_approve,
    case_close_reject,
    case_close_request,
    case_evidence_add,
    case_move,
    case_note_add,
    case_open,
)
from compliance.models import AuditEvent
from compliance.verify import audit_verify
from tradingsite.records import RecordNotDeletable

pytestmark = pytest.mark.django_db


def test_a_case_opened_on_alerts_files_them_and_starts_its_sla(case_officers, open_alerts):
    asha = case_officers[0]
    case = case_open(title="Vikram Shah", actor=asha, alerts=open_alerts)
    assert case.priority == Alert.Priority.HIGH  # the highest of its alerts
    assert case.client_id == open_alerts[0].client_id
    assert (case.assignee, case.status) == (asha, CaseStatus.OPEN)
    assert case.sla_due_at == case.opened_at + dt.timedelta(days=7)  # high: 7 days
    assert case.ref == f"CASE-{case.opened_at:%Y}-{case.pk:06d}"
    for alert in open_alerts:
        alert.refresh_from_db()
        assert (alert.status, alert.case_id) == (Alert.Status.IN_CASE, case.pk)
    opened = AuditEvent.objects.get(action="case.opened")
    assert (opened.chain, opened.after["alerts"]) == ("firm", [a.pk for a in open_alerts])
    assert AuditEvent.objects.filter(action="alert.filed_in_case").count() == 2
    assert audit_verify().ok


def test_only_open_alerts_go_into_a_case(case_officers, open_alerts):
    asha = case_officers[0]
    alert_dismiss(alert=open_alerts[1], actor=asha, reason="market maker")
    with pytest.raises(CaseRefused, match="dismissed"):
        case_open(title="t", actor=asha, alerts=open_alerts)
    assert not Case.objects.exists()
    first = case_open(title="t", actor=asha, alerts=open_alerts[:1])
    with pytest.raises(CaseRefused, match="in a case"):
        case_open(title="again", actor=asha, alerts=open_alerts[:1])
    assert case_add_alerts(case=first, alerts=open_alerts[:1], actor=asha) == []  # already in


def test_a_case_needs_a_title_a_subject_and_an_officer(case_officers, user_in_role):
    asha = case_officers[0]
    with pytest.raises(CaseRefused, match="title"):
        case_open(title="  ", actor=asha, client_id=1)
    with pytest.raises(CaseRefused, match="alert or a client"):
        case_open(title="t", actor=asha)
    with pytest.raises(CaseRefused, match=r"needs compliance\.manage_surveillance_case"):
        case_open(title="t", actor=user_in_role("Auditor"), client_id=1)
    with pytest.raises(CaseRefused, match="needs"):
        case_open(title="t", actor=None, client_id=1)  # only an AML true match opens alone
    assert not Case.objects.exists()


def test_working_a_case_moves_it_in_order(case_officers, open_alerts):
    asha, bala, _ = case_officers
    case = case_open(title="t", actor=asha, alerts=open_alerts)
    with pytest.raises(CaseRefused, match="cannot escalate"):
        case_move(case=case, move="escalate", actor=asha, reason="r")
    case = case_move(case=case, move="review", actor=asha)
    with pytest.raises(CaseRefused, match="reason for escalating"):
        case_move(case=case, move="escalate", actor=asha, reason="")
    with pytest.raises(CaseRefused, match="not a case move"):
        case_move(case=case, move="close", actor=asha)
    case = case_move(case=case, move="escalate", actor=asha, reason="spoofing with wash")
    assert case.status == CaseStatus.ESCALATED
    case_note_add(case=case, actor=bala, body="Called the dealer; no explanation.")
    assert [n.body for n in case.notes.all()] == [
        "Escalated: spoofing with wash",
        "Called the dealer; no explanation.",
    ]
    assert case_assign(cases=[case], assignee=bala, actor=asha) == 1
    assert case_assign(cases=[case], assignee=bala, actor=asha) == 0  # already theirs
    actions = list(
        AuditEvent.objects.filter(object_type="compliance.case").values_list("action", flat=True)
    )
    assert actions == ["case.opened", "case.review", "case.escalate", "case.note_added",
                       "case.assigned"]  # fmt: skip


def test_evidence_is_checked_and_kept_once(case_officers, open_alerts):
    asha = case_officers[0]
    case = case_open(title="t", actor=asha, alerts=open_alerts)
    for bad in ([{"kind": "email", "id": 1}], [{"kind": "fill"}], [{"kind": "fill", "id": "x"}]):
        with pytest.raises(CaseRefused, match="evidence"):
            case_evidence_add(case=case, actor=asha, refs=bad)
    case_evidence_add(case=case, actor=asha, refs=[{"kind": "audit", "id": 3}])
    case = case_evidence_add(case=case, actor=asha, refs=[{"kind": "audit", "id": 3}])
    assert case.evidence == [{"kind": "audit", "id": 3}]


def test_closing_needs_a_second_officer(case_officers, worked_case):
    asha, bala, _ = case_officers
    case = worked_case("no_action")
    assert (case.closure_requested_by, case.status) == (asha, CaseStatus.UNDER_REVIEW)
    with pytest.raises(CaseRefused, match="closing needs a second officer"):
        case_close_approve(case=case, actor=asha)
    assert Case.objects.get(pk=case.pk).status == CaseStatus.UNDER_REVIEW
    case = case_close_approve(case=case, actor=bala)
    assert (case.status, case.closed_by, case.closure_requested_by) == (
        CaseStatus.CLOSED_NO_ACTION, bala, asha,
    )  # fmt: skip
    closed = AuditEvent.objects.get(action="case.closed")
    assert (closed.actor_username, closed.after["proposed_by"]) == ("bala_co", asha.pk)
    with pytest.raises(CaseRefused, match="no closure waiting"):
        case_close_approve(case=case, actor=bala)
    with pytest.raises(CaseRefused, match="is closed"):
        case_evidence_add(case=case, actor=bala, refs=[{"kind": "fill", "id": 1}])
    # A note still goes on a closed case (FIU-IND may ask questions later): kept, audited.
    assert case_note_add(case=case, actor=bala, body="FIU asked for KYC copies").pk


def test_a_closure_sent_back_is_worked_again(case_officers, worked_case):
    bala = case_officers[1]
    case = case_close_reject(case=worked_case("no_action"), actor=bala, reason="look at Q3")
    assert (case.closure_outcome, case.closure_requested_by) == ("", None)
    assert case.notes.last().body == "Closure sent back: look at Q3"
    with pytest.raises(CaseRefused, match="no closure waiting"):
        case_close_approve(case=case, actor=bala)


def test_closures_are_refused_in_the_wrong_state_or_without_a_reason(case_officers, open_alerts):
    asha = case_officers[0]
    case = case_open(title="t", actor=asha, alerts=open_alerts)
    with pytest.raises(CaseRefused, match="only a case under review"):
        case_close_request(case=case, actor=asha, outcome="no_action", reason="r")
    case = case_move(case=case, move="review", actor=asha)
    with pytest.raises(CaseRefused, match="reason for closing"):
        case_close_request(case=case, actor=asha, outcome="no_action", reason=" ")
    with pytest.raises(CaseRefused, match="not a closure"):
        case_close_request(case=case, actor=asha, outcome="closed", reason="r")
    with pytest.raises(CaseRefused, match="no STR drafted"):
        case_close_request(case=case, actor=asha, outcome="str_filed", reason="r")


def test_the_database_refuses_a_closure_by_one_officer_from_any_path(case_officers, worked_case):
    """The shell and a management command write through the ORM: the constraint holds."""
    asha, _, _ = case_officers
    case = worked_case("no_action")
    for closer in (asha, None):
        with pytest.raises(IntegrityError), transaction.atomic():
            Case.objects.filter(pk=case.pk).update(
                status=CaseStatus.CLOSED_NO_ACTION, closed_by=closer, closed_at=timezone.now()
            )
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.filter(pk=case.pk).update(
            status=CaseStatus.STR_FILED, closure_requested_by=None, closed_by=asha
        )
    assert Case.objects.get(pk=case.pk).status == CaseStatus.UNDER_REVIEW


def test_cases_and_notes_are_never_deleted(case_officers, worked_case):
    case = worked_case("no_action")
    with pytest.raises(RecordNotDeletable):
        case.delete()
    with pytest.raises(RecordNotDeletable):
        Case.objects.all().delete()
    with pytest.raises(RecordNotDeletable):
        CaseNote.objects.all().delete()


def test_str_drafts_due_soon_are_reminded_once_a_day(case_officers, worked_case):
    from compliance.cases.models import StrReport
    from compliance.cases.services import str_due_remind

    worked_case("str_filed")
    report = StrReport.objects.get()
    today = report.suspicion_determined_on
    assert str_due_remind(today=today) == []  # 7 days left: nothing yet
    assert str_due_remind(today=report.due_on - dt.timedelta(days=2)) == [report]
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == ["asha@example.in", "bala@example.in",
                                         "chitra@example.in"]  # fmt: skip
    assert report.ref in mail.outbox[0].body
    assert str_due_remind(today=report.due_on - dt.timedelta(days=2)) == []  # once a day
    late = report.due_on + dt.timedelta(days=1)
    assert str_due_remind(today=late) == [report]
    assert "OVERDUE" in mail.outbox[1].body
    assert AuditEvent.objects.filter(action="str.due_reminded").count() == 2


def test_beat_reminds_of_due_strs_every_morning(case_officers, worked_case):
    from compliance.tasks import str_due_remind
    from ops.schedules import DEFAULT_SCHEDULES

    (schedule,) = [s for s in DEFAULT_SCHEDULES if s.task == "compliance.tasks.str_due_remind"]
    assert schedule.crontab == "30 9 * * *"
    worked_case("str_filed")
    assert str_due_remind() == {"reminded": []}  # drafted today: 7 days left
