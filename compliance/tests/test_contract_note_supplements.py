"""Fills that arrive after a client's note of the day is made go on a supplementary note:
the next part, naming the day's first note, with those fills' figures alone, signed and
e-mailed like any note; every fill of the day is on exactly one note."""

import io
import json
import re
from decimal import Decimal

import pytest
from django.core import mail
from django.core.files.storage import storages
from pypdf import PdfReader

from compliance.models import AuditEvent
from compliance.reports.dispatch import contract_notes_dispatch
from compliance.reports.models import ContractNoteRecord
from compliance.reports.services import contract_notes_generate
from compliance.tests.contract_note_fixtures import filled
from orders.models import Fill

pytestmark = pytest.mark.django_db


def _read(path: str) -> bytes:
    with storages["compliance"].open(path, "rb") as f:
        return f.read()


def test_a_late_fill_goes_on_a_supplementary_note_naming_the_first(day_of_fills, account):
    day, fills = day_of_fills
    first = next(n for n in contract_notes_generate(day=day) if n.client_id == account.client_id)
    assert (first.part, first.supplements) == (1, None)
    assert first.fill_ids == sorted(f.pk for f in fills if f.account_id == account.pk)

    late = filled(account, "INFY", "1390.00", [3])  # after the note was made
    assert late[0].trade_date == day
    (supplement,) = contract_notes_generate(day=day)

    assert (supplement.client_id, supplement.part) == (account.client_id, 2)
    assert supplement.supplements == first
    assert supplement.fill_ids == [late[0].pk]
    note = json.loads(_read(supplement.json_path))
    assert note["supplements"] == first.number
    assert [t["trade_number"] for t in note["trades"]] == [late[0].broker_fill_id]
    total = late[0].charges_total
    assert Decimal(note["obligation"]["net_amount"]) == Decimal("4170.00") + total
    text = "\n".join(
        p.extract_text() for p in PdfReader(io.BytesIO(_read(supplement.pdf_path))).pages
    )
    assert "Supplementary Contract Note cum Tax Invoice" in text
    assert re.search(rf"Supplements\s+{first.number}\s", text)
    event = AuditEvent.objects.get(action="contract_note.generated", object_id=str(supplement.pk))
    assert (event.after["part"], event.after["supplements"]) == (2, first.number)

    assert contract_notes_generate(day=day) == []  # every fill is on a note now
    on_notes = [i for n in ContractNoteRecord.objects.filter(trade_date=day) for i in n.fill_ids]
    assert sorted(on_notes) == sorted(
        Fill.objects.filter(trade_date=day).values_list("pk", flat=True)
    )


def test_the_supplementary_note_is_mailed_like_any_note(day_of_fills, account, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    day, _ = day_of_fills
    contract_notes_generate(day=day)
    contract_notes_dispatch()
    sent = len(mail.outbox)
    filled(account, "INFY", "1390.00", [3])
    (supplement,) = contract_notes_generate(day=day)
    contract_notes_dispatch()
    assert len(mail.outbox) == sent + 1
    assert supplement.number in mail.outbox[-1].subject
    assert supplement.dispatches.get().status == "sent"


def test_the_database_refuses_a_supplement_without_its_first_note(notes):
    from django.db import IntegrityError, transaction

    asha, _ = notes
    with pytest.raises(IntegrityError), transaction.atomic():
        ContractNoteRecord.objects.filter(pk=asha.pk).update(part=2)
    with pytest.raises(IntegrityError), transaction.atomic():  # a second part 1 of the day
        ContractNoteRecord.objects.create(
            client_id=asha.client_id, trade_date=asha.trade_date, number="CN-X",
            settlement_number=asha.settlement_number, generated_at=asha.generated_at,
        )  # fmt: skip
