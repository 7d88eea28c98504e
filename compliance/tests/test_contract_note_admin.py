"""The contract notes' admin: read-only, the files downloadable (checked, audited), the
dispatches shown inline, and "Send again" through the dispatch service, for compliance
staff only."""

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.test import Client as WebClient

from compliance.models import AuditEvent
from compliance.reports.dispatch import contract_notes_dispatch
from compliance.reports.models import ContractNoteDispatch

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/compliance/contractnoterecord/"


@pytest.fixture
def desk(user_in_role, otp_login):
    """``desk(role)``: a signed-in admin session of a new user in ``role``."""

    def signed_in(role: str, username: str):
        return otp_login(WebClient(), user_in_role(role, username))

    return signed_in


def test_the_list_and_the_note_show_its_files_and_dispatches(desk, notes):
    asha, _ = notes
    contract_notes_dispatch()
    web = desk("Auditor", "audrey")
    listing = web.get(CHANGELIST).content.decode()
    assert asha.number in listing
    assert '<td class="field-dispatch_status">Sent</td>' in listing
    assert '<td class="field-dispatch_status">Failed</td>' in listing
    page = web.get(f"{CHANGELIST}{asha.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    for kind in ("pdf", "csv", "json"):
        assert f"{CHANGELIST}{asha.pk}/file/{kind}/" in html
        assert getattr(asha, f"{kind}_sha256") in html
    assert "kyc@example.in" in html  # the dispatch, inline
    assert 'name="_save"' not in html  # nothing to edit
    assert web.get(f"{CHANGELIST}add/").status_code == 403


def test_a_file_downloads_as_stored_and_is_audited(desk, notes):
    asha, _ = notes
    response = desk("Auditor", "audrey").get(f"{CHANGELIST}{asha.pk}/file/pdf/")
    assert response.status_code == 200
    with storages["compliance"].open(asha.pdf_path, "rb") as f:
        assert b"".join(response.streaming_content) == f.read()
    event = AuditEvent.objects.get(action="contract_note.downloaded")
    assert (event.object_id, event.actor_username) == (str(asha.pk), "audrey")


def test_a_file_that_changed_is_refused_with_its_name(desk, notes):
    asha, _ = notes
    storages["compliance"].delete(asha.json_path)
    storages["compliance"].save(asha.json_path, ContentFile(b"{}"))
    response = desk("Auditor", "audrey").get(f"{CHANGELIST}{asha.pk}/file/json/", follow=True)
    assert asha.json_path in response.content.decode()
    assert not AuditEvent.objects.filter(action="contract_note.downloaded").exists()


def test_send_again_mails_the_selected_notes_through_the_service(desk, notes):
    asha, ravi = notes
    contract_notes_dispatch()
    web = desk("Compliance Officer", "meera3")
    page = web.post(
        CHANGELIST,
        {"action": "send_again", "_selected_action": [asha.pk, ravi.pk]},
        follow=True,
    )
    html = page.content.decode()
    assert f"Sent again: {asha.number}." in html
    assert f"Not sent: {ravi.number}: No e-mail on file" in html
    assert len(mail.outbox) == 2
    again = ContractNoteDispatch.objects.get(note=asha, resend=True)
    assert (again.attempt, again.status) == (2, ContractNoteDispatch.Status.SENT)
    event = AuditEvent.objects.get(action="contract_note.sent", object_id=str(again.pk))
    assert event.actor_username == "meera3"


def test_an_auditor_cannot_send_again(desk, notes):
    asha, _ = notes
    web = desk("Auditor", "audrey")
    assert "send_again" not in web.get(CHANGELIST).content.decode()
    web.post(CHANGELIST, {"action": "send_again", "_selected_action": [asha.pk]})
    assert mail.outbox == []
    assert not ContractNoteDispatch.objects.exists()
