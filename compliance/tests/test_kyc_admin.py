"""The KYC queue in the admin: decisions and bulk actions go through the services, so
maker-checker holds there too; nothing is deleted; auditors see everything, change nothing."""

from datetime import date

import pytest
from django.test import Client as WebClient

from compliance.kyc.choices import ApplicationStatus
from compliance.kyc.models import KycApplication, KycDocument
from compliance.models import AuditEvent
from compliance.tests.kyc_fixtures import EXE, upload

pytestmark = pytest.mark.django_db
S = ApplicationStatus
QUEUE = "/admin/compliance/kycapplication/"


@pytest.fixture
def as_user(otp_login):
    return lambda user: otp_login(WebClient(), user)


def messages_of(page) -> list[str]:
    return [str(m) for m in page.context["messages"]]


def test_the_change_view_refuses_the_verifier_approving(kyc_application, officers, as_user):
    maker, checker = officers
    application = kyc_application(step="verified")

    page = as_user(maker).post(
        f"{QUEUE}{application.pk}/change/", {"_kyc_approved": "Approve"}, follow=True
    )
    assert any("Maker-checker: meera verified" in m for m in messages_of(page))
    application.refresh_from_db()
    assert application.status == S.VERIFIED

    page = as_user(checker).post(
        f"{QUEUE}{application.pk}/change/", {"_kyc_approved": "Approve"}, follow=True
    )
    application.refresh_from_db()
    assert (application.status, application.decided_by) == (S.APPROVED, checker)


def test_bulk_approval_enforces_maker_checker_item_by_item(kyc_application, officers, as_user):
    maker, checker = officers
    mine = kyc_application(step="verified")  # verified by meera
    theirs = kyc_application(pan="ABCPZ1234Q", name="Zoya", step="under_review")
    from compliance.kyc.services import kyc_verify

    kyc_verify(application=theirs, actor=checker)  # verified by kabir

    page = as_user(maker).post(
        QUEUE, {"action": "approve", "_selected_action": [mine.pk, theirs.pk]}, follow=True
    )

    shown = messages_of(page)
    assert "1 application(s) moved to Approved." in shown
    assert any(f"meera verified application {mine.pk}" in m for m in shown)
    mine.refresh_from_db(), theirs.refresh_from_db()
    assert (mine.status, theirs.status) == (S.VERIFIED, S.APPROVED)
    assert theirs.decided_by == maker


def test_bulk_reject_needs_a_reason(kyc_application, officers, as_user):
    application = kyc_application(step="verified")
    web = as_user(officers[1])
    page = web.post(QUEUE, {"action": "reject", "_selected_action": [application.pk]}, follow=True)
    assert any("Say why" in m for m in messages_of(page))
    web.post(
        QUEUE,
        {"action": "reject", "_selected_action": [application.pk], "reason": "forged proof"},
    )
    application.refresh_from_db()
    assert (application.status, application.rejection_reason) == (S.REJECTED, "forged proof")


def test_delete_is_refused_one_by_one_and_in_bulk(kyc_application, officers, user_in_role, as_user):
    application = kyc_application(step="verified")
    web = as_user(user_in_role("Administrator", "boss"))

    assert web.post(f"{QUEUE}{application.pk}/delete/", {"post": "yes"}).status_code == 403
    web.post(QUEUE, {"action": "delete_selected", "_selected_action": [application.pk],
                     "post": "yes"})  # fmt: skip
    document = application.documents.first()
    doc_url = f"/admin/compliance/kycdocument/{document.pk}/delete/"
    assert web.post(doc_url, {"post": "yes"}).status_code == 403
    assert KycApplication.objects.filter(pk=application.pk, status=S.VERIFIED).exists()
    assert KycDocument.objects.filter(pk=document.pk).exists()


def test_an_auditor_sees_the_queue_and_changes_nothing(kyc_application, user_in_role, as_user):
    application = kyc_application(step="verified")
    web = as_user(user_in_role("Auditor"))

    queue = web.get(QUEUE)
    assert queue.status_code == 200
    assert "Kiran Rao" in queue.content.decode()
    assert "Approve (checker)" not in queue.content.decode()  # no actions offered
    detail = web.get(f"{QUEUE}{application.pk}/change/")
    assert detail.status_code == 200
    assert 'name="_kyc_approved"' not in detail.content.decode()
    refused = web.post(f"{QUEUE}{application.pk}/change/", {"_kyc_approved": "Approve"})
    assert refused.status_code == 403
    web.post(QUEUE, {"action": "approve", "_selected_action": [application.pk]})
    application.refresh_from_db()
    assert application.status == S.VERIFIED


def test_the_queue_shows_counts_and_age(kyc_application, officers, as_user):
    kyc_application(step="submitted")
    page = as_user(officers[0]).get(QUEUE)
    body = page.content.decode()
    assert "Age (days)" in body
    assert "Submitted (1)" in body  # the status filter with its count


def test_an_upload_in_the_admin_is_checked_by_content(kyc_application, officers, as_user):
    application = kyc_application()
    before = KycDocument.objects.count()
    page = as_user(officers[0]).post(
        "/admin/compliance/kycdocument/add/",
        {"application": application.pk, "kind": "photo", "upload": upload(EXE, "photo.pdf")},
    )
    assert page.status_code == 200
    assert "photo.pdf is a EXE file" in page.content.decode()
    assert KycDocument.objects.count() == before


def test_the_client_form_cannot_set_kyc_status(kyc_application, officers, as_user):
    application = kyc_application()
    client = application.client
    page = as_user(officers[0]).get(f"/admin/compliance/client/{client.pk}/change/")
    assert 'name="kyc_status"' not in page.content.decode()


def test_saving_a_submitted_application_changes_nothing(kyc_application, officers, as_user):
    application = kyc_application(step="submitted")
    page = as_user(officers[0]).post(
        f"{QUEUE}{application.pk}/change/",
        {"_save": "Save", "documents-TOTAL_FORMS": 0, "documents-INITIAL_FORMS": 5,
         "mobile": "9000000000"},
    )  # fmt: skip
    assert page.status_code == 302
    application.refresh_from_db()
    assert (application.status, application.mobile) == (S.SUBMITTED, "9876543210")


def test_a_draft_is_edited_through_its_service_and_audited(kyc_application, officers, as_user):
    from django.forms.models import model_to_dict

    from compliance.models import AuditEvent

    application = kyc_application()
    data = {k: v for k, v in model_to_dict(application).items() if v is not None}
    data.update(mobile="9123456789", aadhaar_last4="12A4", **{
        "documents-TOTAL_FORMS": 0, "documents-INITIAL_FORMS": 0,
    })  # fmt: skip
    web = as_user(officers[0])
    refused = web.post(f"{QUEUE}{application.pk}/change/", data)
    assert refused.status_code == 200  # the form with its error
    assert "exactly 4 digits" in refused.content.decode()

    data["aadhaar_last4"] = "5678"
    assert web.post(f"{QUEUE}{application.pk}/change/", data).status_code == 302
    application.refresh_from_db()
    assert (application.mobile, application.aadhaar_last4) == ("9123456789", "5678")
    [event] = AuditEvent.objects.filter(action="kyc.application_changed")
    assert event.after == {"fields": ["aadhaar_last4", "mobile"]}


def test_the_state_is_entered_in_the_form_as_a_gst_state_code(kyc_application, officers, as_user):
    from django.forms.models import model_to_dict

    application = kyc_application()
    web = as_user(officers[0])
    assert 'name="state"' in web.get(f"{QUEUE}{application.pk}/change/").content.decode()
    data = {k: v for k, v in model_to_dict(application).items() if v is not None}
    data.update({"documents-TOTAL_FORMS": 0, "documents-INITIAL_FORMS": 0, "state": "MH"})
    refused = web.post(f"{QUEUE}{application.pk}/change/", data)
    assert "Select a valid choice" in refused.content.decode()
    data["state"] = "29"
    assert web.post(f"{QUEUE}{application.pk}/change/", data).status_code == 302
    application.refresh_from_db()
    assert (application.state, application.get_state_display()) == ("29", "Karnataka")


def test_an_officer_and_an_auditor_open_a_document_and_a_trader_cannot(
    kyc_application, officers, user_in_role, as_user
):
    from compliance.models import AuditEvent
    from compliance.tests.kyc_fixtures import PDF

    document = kyc_application().documents.first()
    url = f"/admin/compliance/kycdocument/{document.pk}/download/"
    for user in (officers[1], user_in_role("Auditor")):
        got = as_user(user).get(url)
        assert got.status_code == 200
        assert (b"".join(got.streaming_content), got["Content-Type"]) == (PDF, "application/pdf")
    assert AuditEvent.objects.filter(action="kyc.document_viewed").count() == 2
    trader = as_user(user_in_role("Trader"))
    assert trader.get(url).status_code in (302, 403)


def test_check_kra_asks_the_kra_for_approved_applications(kyc_application, officers, as_user):
    from compliance.kyc.kra import FakeKra
    from compliance.kyc.services import kyc_approve

    application = kyc_approve(application=kyc_application(step="verified"), actor=officers[1])
    FakeKra().forget(application.pan)
    web = as_user(officers[0])
    web.post(QUEUE, {"action": "check_kra", "_selected_action": [application.pk]})
    application.refresh_from_db()
    assert application.kra_status == "Under Process"
    web.post(QUEUE, {"action": "check_kra", "_selected_action": [application.pk]})
    application.refresh_from_db()
    assert application.kra_status == "KYC Validated"
    assert application.client.kyc_status == "verified"


def test_the_kyc_and_rekyc_queues_assign_in_bulk(kyc_application, officers, otp_login):
    from compliance.kyc.models import ReKycDue

    maker, checker = officers
    application = kyc_application(step="submitted")
    due = ReKycDue.objects.create(client=application.client, due_on=date(2027, 1, 1))
    web = otp_login(WebClient(), maker)
    for url, item in (("/admin/compliance/kycapplication/", application),
                      ("/admin/compliance/rekycdue/", due)):  # fmt: skip
        page = web.post(
            url, {"action": "assign_to_officer", "_selected_action": [item.pk],
                  "assignee": checker.pk}, follow=True,
        )  # fmt: skip
        assert "1 assigned to kabir." in [str(m) for m in page.context["messages"]]
        item.refresh_from_db()
        assert item.assignee == checker
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"kyc.assigned", "rekyc.assigned"} <= actions
