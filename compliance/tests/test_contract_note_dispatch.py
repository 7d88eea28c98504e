"""Contract notes e-mailed to their clients: the client's state on the note (CGST + SGST or
IGST), each dispatch kept and audited, the signed PDF and CSV attached and checked against
their sha256, failures retried a bounded number of times, a note never sent twice by two
runs, and no transaction open while the mail goes out."""

import hashlib
import json
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from compliance.kyc.choices import IndianState
from compliance.kyc.services import kyc_application_update
from compliance.models import FIRM_CHAIN, AuditEvent
from compliance.reports.dispatch import (
    ContractNoteDispatchBusy,
    contract_note_send_again,
    contract_notes_dispatch,
)
from compliance.reports.models import ContractNoteDispatch, ContractNoteRecord
from compliance.reports.services import contract_notes_generate
from compliance.tasks import contract_notes_generate as contract_notes_task
from compliance.tests.contract_note_fixtures import filled
from conftest import require

pytestmark = pytest.mark.django_db
Status = ContractNoteDispatch.Status


class RefusingBackend(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError("[Errno 111] Connection refused")


class WatchingBackend(BaseEmailBackend):
    """Keeps what it sends, whether a transaction was open then, and takes its time (so two
    runs overlap)."""

    sent: list = []
    in_transaction: list = []
    delay = 0.0

    def send_messages(self, email_messages):
        WatchingBackend.in_transaction.append(connection.in_atomic_block)
        time.sleep(self.delay)
        WatchingBackend.sent.extend(email_messages)
        return len(email_messages)


@pytest.fixture
def watching(settings):
    settings.EMAIL_BACKEND = f"{__name__}.WatchingBackend"
    WatchingBackend.sent, WatchingBackend.in_transaction, WatchingBackend.delay = [], [], 0.0
    return WatchingBackend


def _read(path: str) -> bytes:
    with storages["compliance"].open(path, "rb") as f:
        return f.read()


def _obligation(record: ContractNoteRecord) -> dict:
    return json.loads(_read(record.json_path))


# --- The client's state ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "shown", "split"),
    [(IndianState.KARNATAKA, "Karnataka", False), (IndianState.MAHARASHTRA, "Maharashtra", True)],
)
def test_the_clients_kyc_state_decides_cgst_and_sgst_or_igst(
    account, kyc_application, settings, tmp_path, state, shown, split
):
    settings.DATA_DIR = tmp_path / "data"
    assert settings.COMPLIANCE_BROKER["state"] == "Maharashtra"
    kyc_application(client=account.client, state=state)
    fills = filled(account, "INFY", "1400.00", [4, 6])
    (record,) = contract_notes_generate(day=fills[0].trade_date)
    note = _obligation(record)
    gst = sum((Decimal(f.charges["gst"]) for f in fills), Decimal(0))
    assert gst > 0
    obligation = note["obligation"]
    assert note["client"]["state"] == shown
    if split:
        assert Decimal(obligation["igst"]) == 0
        assert Decimal(obligation["cgst"]) + Decimal(obligation["sgst"]) == gst
    else:
        assert Decimal(obligation["igst"]) == gst
        assert Decimal(obligation["cgst"]) == Decimal(obligation["sgst"]) == 0


def test_a_state_that_is_no_gst_state_code_is_refused(account, kyc_application):
    application = kyc_application(client=account.client)
    with pytest.raises(Exception, match="not a valid choice"):
        kyc_application_update(application=application, actor=None, changes={"state": "MH"})
    application.refresh_from_db()
    assert application.state == ""


# --- Dispatch ----------------------------------------------------------------------------


def test_each_note_is_mailed_with_its_signed_pdf_and_csv(notes, settings):
    asha, ravi = notes
    dispatches = contract_notes_dispatch()
    assert {(d.note_id, d.status) for d in dispatches} == {
        (asha.pk, Status.SENT),
        (ravi.pk, Status.FAILED),
    }
    (message,) = mail.outbox
    assert message.to == ["kyc@example.in"]
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    assert asha.number in message.subject
    attached = {name: content for name, content, _ in message.attachments}
    assert set(attached) == {f"{asha.number}.pdf", f"{asha.number}.csv"}
    assert hashlib.sha256(attached[f"{asha.number}.pdf"]).hexdigest() == asha.pdf_sha256
    content = attached[f"{asha.number}.csv"]
    content = content.encode() if isinstance(content, str) else content
    assert hashlib.sha256(content).hexdigest() == asha.csv_sha256
    sent = ContractNoteDispatch.objects.get(note=asha)
    assert (sent.recipient, sent.attempt, sent.error) == ("kyc@example.in", 1, "")
    assert sent.sent_at is not None
    assert sent.message_id == message.extra_headers["Message-ID"] != ""


def test_a_client_with_no_email_on_file_gets_a_failed_dispatch_saying_so(notes):
    _, ravi = notes
    contract_notes_dispatch()
    failed = ContractNoteDispatch.objects.get(note=ravi)
    assert failed.status == Status.FAILED
    assert failed.recipient == ""
    assert failed.error == f"No e-mail on file: client {ravi.client_id} has no KYC application."
    assert failed.sent_at is None


def test_a_sent_note_is_not_sent_again_and_failures_stop_after_the_attempts(notes, settings):
    asha, ravi = notes
    settings.CONTRACT_NOTE_DISPATCH_ATTEMPTS = 3
    for _ in range(5):
        contract_notes_dispatch()
    assert len(mail.outbox) == 1
    assert ContractNoteDispatch.objects.filter(note=asha).count() == 1
    assert list(
        ContractNoteDispatch.objects.filter(note=ravi).values_list("attempt", "status")
    ) == [(1, Status.FAILED), (2, Status.FAILED), (3, Status.FAILED)]


def test_a_failed_send_is_retried_on_the_next_run(notes, settings):
    asha, _ = notes
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    (first,) = [d for d in contract_notes_dispatch() if d.note_id == asha.pk]
    assert first.status == Status.FAILED
    assert first.error == "ConnectionRefusedError: [Errno 111] Connection refused"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    (second,) = [d for d in contract_notes_dispatch() if d.note_id == asha.pk]
    assert (second.attempt, second.status) == (2, Status.SENT)
    assert len(mail.outbox) == 1


def test_a_file_that_changed_fails_the_dispatch_naming_it(notes):
    asha, _ = notes
    storage = storages["compliance"]
    storage.delete(asha.csv_path)
    storage.save(asha.csv_path, ContentFile(b"trade,quantity\nINFY,1000\n"))
    contract_notes_dispatch(day=asha.trade_date)
    failed = ContractNoteDispatch.objects.get(note=asha)
    assert failed.status == Status.FAILED
    assert asha.csv_path in failed.error
    assert "does not match its recorded sha256" in failed.error
    assert mail.outbox == []


def test_each_dispatch_is_audited_on_the_firm_chain(notes):
    asha, ravi = notes
    contract_notes_dispatch()
    for note, action in ((asha, "contract_note.sent"), (ravi, "contract_note.dispatch_failed")):
        dispatch = ContractNoteDispatch.objects.get(note=note)
        event = AuditEvent.objects.get(action=action, object_id=str(dispatch.pk))
        assert event.object_type == "compliance.contractnotedispatch"
        assert event.chain == FIRM_CHAIN
        assert event.after["number"] == note.number
        assert event.after["status"] == dispatch.status
        assert event.after["pdf_sha256"] == note.pdf_sha256


def test_a_note_being_sent_is_left_to_that_run(notes):
    asha, _ = notes
    ContractNoteDispatch.objects.create(
        note=asha, recipient="kyc@example.in", attempt=1, attempted_at=timezone.now()
    )
    assert [d.note_id for d in contract_notes_dispatch()] != [asha.pk]
    assert mail.outbox == []
    with pytest.raises(IntegrityError), transaction.atomic():
        ContractNoteDispatch.objects.create(note=asha, attempt=2, attempted_at=timezone.now())


def test_a_send_abandoned_mid_way_is_failed_and_tried_again(notes):
    asha, _ = notes
    stuck = ContractNoteDispatch.objects.create(
        note=asha, recipient="kyc@example.in", attempt=1,
        attempted_at=timezone.now() - timedelta(hours=2),
    )  # fmt: skip
    contract_notes_dispatch(day=asha.trade_date)
    stuck.refresh_from_db()
    assert stuck.status == Status.FAILED
    assert stuck.error.startswith("Abandoned")
    assert ContractNoteDispatch.objects.get(note=asha, attempt=2).status == Status.SENT
    assert len(mail.outbox) == 1


def test_send_again_sends_a_sent_note_once_more(notes, user_in_role):
    asha, ravi = notes
    officer = user_in_role("Compliance Officer", "meera2")
    contract_notes_dispatch()
    again = contract_note_send_again(note=asha, actor=officer)
    assert (again.attempt, again.resend, again.status) == (2, True, Status.SENT)
    assert len(mail.outbox) == 2
    event = AuditEvent.objects.get(action="contract_note.sent", object_id=str(again.pk))
    assert event.actor_username == "meera2"
    # The scheduled run does not send it a third time (only Ravi's failure is retried).
    assert [d.note_id for d in contract_notes_dispatch()] == [ravi.pk]
    assert len(mail.outbox) == 2


def test_send_again_refuses_while_a_send_is_in_flight(notes):
    asha, _ = notes
    ContractNoteDispatch.objects.create(
        note=asha, recipient="kyc@example.in", attempt=1, attempted_at=timezone.now()
    )
    with pytest.raises(ContractNoteDispatchBusy, match="being sent right now"):
        contract_note_send_again(note=asha, actor=None)
    assert mail.outbox == []


def test_the_task_makes_the_days_notes_then_mails_them(day_of_fills):
    day, _ = day_of_fills
    result = contract_notes_task(day=day.isoformat())
    assert len(result["made"]) == 2
    assert len(result["sent"]) == 1
    assert len(result["failed"]) == 1
    assert result["sent"][0] in result["made"]
    assert len(mail.outbox) == 1
    again = contract_notes_task(day=day.isoformat())
    assert (again["made"], again["sent"]) == ([], [])


@pytest.mark.django_db(transaction=True)
def test_no_transaction_is_open_while_the_mail_is_sent(day_of_fills, watching):
    day, _ = day_of_fills
    contract_notes_generate(day=day)
    contract_notes_dispatch()
    assert len(watching.sent) == 1
    assert watching.in_transaction == [False]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_each_note_once(day_of_fills, watching):
    require(connection.vendor == "postgresql", "PostgreSQL")
    day, _ = day_of_fills
    contract_notes_generate(day=day)
    watching.delay = 0.5
    errors = []

    def run():
        try:
            contract_notes_dispatch()
        except Exception as failed:  # reported below, not lost in the thread
            errors.append(failed)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(watching.sent) == 1
    assert ContractNoteDispatch.objects.filter(status=Status.SENT).count() == 1
