"""The case queue in the admin: counts, bulk assignment, a case opened from the alert
queue, the STR drafted and downloaded, and the four-eyes closure holding through the bulk
actions and the delete paths; auditors see it all and change nothing; traders reach none
of it."""

import pytest
from django.test import Client as WebClient

from compliance.cases.models import Case, CaseStatus, StrReport, StrStatus
from compliance.cases.services import case_close_approve
from compliance.models import AuditEvent

pytestmark = pytest.mark.django_db
QUEUE = "/admin/compliance/case/"


@pytest.fixture
def webs(case_officers, otp_login):
    return [otp_login(WebClient(), officer) for officer in case_officers]


@pytest.fixture
def auditor_web(user_in_role, otp_login):
    return otp_login(WebClient(), user_in_role("Auditor", "audra"))


def act(web, action: str, cases, **extra):
    data = {"action": action, "_selected_action": [c.pk for c in cases], **extra}
    return web.post(QUEUE, data, follow=True)


def messages_of(page) -> list[str]:
    return [str(m) for m in page.context["messages"]]


def test_an_officer_opens_a_case_from_the_alert_queue(webs, open_alerts):
    page = webs[0].post(
        "/admin/compliance/alert/",
        {"action": "open_case", "_selected_action": [a.pk for a in open_alerts],
         "reason": "Vikram Shah: wash and spoof"},
        follow=True,
    )  # fmt: skip
    case = Case.objects.get()
    assert case.title == "Vikram Shah: wash and spoof"
    link = f'<a href="/admin/compliance/case/{case.pk}/change/">{case.ref}</a>'
    assert f"{link} opened on 2 alert(s)." in messages_of(page)
    assert set(case.alerts.values_list("pk", flat=True)) == {a.pk for a in open_alerts}


def test_the_queue_counts_and_assigns_in_bulk(webs, case_officers, worked_case):
    worked_case("no_action")
    page = webs[0].get(QUEUE)
    assert page.status_code == 200
    counts = page.content.decode()
    assert "awaiting a second officer:</strong> 1" in counts
    assert "Under review:</strong> 1" in counts
    case = Case.objects.get()
    page = act(webs[0], "assign_to_officer", [case], assignee=case_officers[2].pk)
    assert "1 case(s) assigned to chitra_co." in messages_of(page)
    assert Case.objects.get().assignee == case_officers[2]


def test_the_bulk_approve_refuses_the_officer_who_proposed(webs, case_officers, worked_case):
    case = worked_case("no_action")  # asha proposed
    page = act(webs[0], "approve_closure", [case])
    assert any("closing needs a second officer" in m for m in messages_of(page))
    assert Case.objects.get().status == CaseStatus.UNDER_REVIEW
    page = act(webs[1], "approve_closure", [case])
    assert "1 case(s) closed." in messages_of(page)
    closed = Case.objects.get()
    assert (closed.status, closed.closed_by) == (CaseStatus.CLOSED_NO_ACTION, case_officers[1])


def test_no_delete_path_removes_a_case_or_its_str(webs, worked_case):
    case = worked_case("str_filed")
    report = StrReport.objects.get()
    for web in webs[:1]:
        for url in (f"{QUEUE}{case.pk}/delete/",
                    f"/admin/compliance/strreport/{report.pk}/delete/"):  # fmt: skip
            assert web.get(url).status_code in (302, 403)
            assert web.post(url, {"post": "yes"}).status_code in (302, 403)
        act(web, "delete_selected", [case], post="yes")
    assert Case.objects.filter(pk=case.pk).exists()
    assert StrReport.objects.filter(pk=report.pk).exists()


def test_the_str_is_drafted_filed_and_downloaded_in_the_admin(webs, case_officers, worked_case):
    case = worked_case("no_action")
    web = webs[0]
    act(web, "send_closure_back", [case], text="escalate it")  # asha withdraws her own
    act(web, "escalate", [case], text="wash and spoof together")
    form = act(web, "draft_str", [case])
    assert "Grounds of suspicion" in form.content.decode()
    page = act(web, "draft_str", [case], apply="1", grounds="Self trades & spoofing in INFY.",
               categories=["market_abuse", "transaction_nature"], action_taken="Watch")  # fmt: skip
    report = StrReport.objects.get()
    assert f"{report.ref} drafted for {case.ref}" in messages_of(page)[0]
    page = web.get(f"/admin/compliance/strreport/{report.pk}/change/").content.decode()
    assert f'<a href="/admin/compliance/strreport/{report.pk}/download/pdf/">PDF</a>' in page
    draft = web.get(f"/admin/compliance/strreport/{report.pk}/download/pdf/")
    assert draft.status_code == 200
    assert draft["Content-Disposition"] == f'attachment; filename="{report.ref}-DRAFT.pdf"'
    act(web, "propose_str_filing", [case], text="grounds are made out")
    page = act(webs[1], "approve_closure", [case])
    assert "1 case(s) closed." in messages_of(page)
    report.refresh_from_db()
    assert report.status == StrStatus.FILED
    machine = webs[1].get(f"/admin/compliance/strreport/{report.pk}/download/data/")
    assert machine.status_code == 200
    assert machine["Content-Type"] == "application/xml"
    assert b"Self trades &amp; spoofing in INFY." in machine.content
    assert webs[1].get(f"/admin/compliance/strreport/{report.pk}/download/exe/").status_code == 400
    assert AuditEvent.objects.filter(action="str.read").count() == 2


def test_an_auditor_sees_everything_and_changes_nothing(auditor_web, case_officers, worked_case):
    case = case_close_approve(case=worked_case("str_filed"), actor=case_officers[1])
    report = StrReport.objects.get()
    for url in (QUEUE, f"{QUEUE}{case.pk}/change/", "/admin/compliance/strreport/",
                f"/admin/compliance/strreport/{report.pk}/change/"):  # fmt: skip
        assert auditor_web.get(url).status_code == 200, url
    page = auditor_web.get(f"/admin/compliance/strreport/{report.pk}/download/pdf/")
    assert page.status_code == 200
    assert page.content.startswith(b"%PDF")
    assert "approve_closure" not in auditor_web.get(QUEUE).content.decode()
    before = list(Case.objects.values_list("status", "assignee", "closure_outcome"))
    for action in ("assign_to_officer", "take_for_review", "escalate", "approve_closure",
                   "propose_no_action", "add_note", "draft_str"):  # fmt: skip
        act(auditor_web, action, [case], text="x", assignee=case_officers[0].pk)
    assert list(Case.objects.values_list("status", "assignee", "closure_outcome")) == before
    assert not AuditEvent.objects.filter(actor_username="audra").exclude(
        action__in=["auth.login", "str.read"]
    )


def test_a_trader_reaches_no_case_page(webs, worked_case, django_user_model, user_in_role):
    case = worked_case("str_filed")
    report = StrReport.objects.get()
    trader = user_in_role("Trader", "tara")
    web = WebClient()
    web.force_login(trader)
    for url in (QUEUE, f"{QUEUE}{case.pk}/change/",
                f"/admin/compliance/strreport/{report.pk}/download/pdf/"):  # fmt: skip
        page = web.get(url)
        assert page.status_code == 302, url
        assert page["Location"].startswith("/admin/login/"), url


def test_the_dashboard_gives_the_days_numbers(webs, auditor_web, case_officers, worked_case):
    from compliance.dashboard import desk_numbers

    worked_case("str_filed")  # a case awaiting its second officer, its STR a draft
    numbers = {
        section: {f.label: f.value for f in figures} for section, figures in desk_numbers().items()
    }
    assert numbers["Cases"]["opened today"] == 1
    assert numbers["Cases"]["closure awaiting a second officer"] == 1
    assert numbers["STRs to FIU-IND"]["drafts"] == 1
    assert numbers["STRs to FIU-IND"]["overdue"] == 0
    assert numbers["Market-abuse surveillance"]["raised today"] == 2
    assert numbers["Market-abuse surveillance"]["open"] == 0  # both are in the case
    for web in (webs[0], auditor_web):
        page = web.get("/admin/compliance/case/dashboard/")
        assert page.status_code == 200
        assert "Compliance desk: today" in page.content.decode()
        assert "/admin/compliance/case/dashboard/" in web.get("/admin/").content.decode()
