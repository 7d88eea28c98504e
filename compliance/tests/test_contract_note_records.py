"""The day's contract notes, made from real fills and kept: one per client and day, files
in the compliance storage under their sha256, figures equal to the fills' charges, the PDF
signed, nothing made twice or for a day without fills, each note audited."""

import hashlib
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.storage import storages

from compliance.models import FIRM_CHAIN, AuditEvent, Client
from compliance.reports.contract_note import CHARGE_KEYS
from compliance.reports.models import ContractNoteRecord
from compliance.reports.services import contract_notes_generate
from compliance.tasks import contract_notes_generate as contract_notes_task
from compliance.tests.contract_note_fixtures import filled
from orders.choices import LedgerKind
from orders.models import Fill, TradingAccount
from orders.services import funds_move

pytestmark = pytest.mark.django_db


def _read(path: str) -> bytes:
    with storages["compliance"].open(path, "rb") as f:
        return f.read()


def test_one_note_per_client_with_its_files_under_their_sha256(day_of_fills):
    day, fills = day_of_fills
    made = contract_notes_generate(day=day)
    assert len(made) == 2
    assert ContractNoteRecord.objects.count() == 2
    by_client = {r.client_id: r for r in ContractNoteRecord.objects.all()}
    assert set(by_client) == {f.account.client_id for f in fills}
    assert sorted(r.number for r in made) == [
        f"CN-{day:%Y%m%d}-000001",
        f"CN-{day:%Y%m%d}-000002",
    ]
    for record in made:
        assert record.trade_date == day
        assert record.settlement_number.startswith(str(day.year))
        for kind in ("pdf", "csv", "json"):
            path, digest = getattr(record, f"{kind}_path"), getattr(record, f"{kind}_sha256")
            assert path == f"contract-notes/{day.isoformat()}/{digest}.{kind}"
            assert hashlib.sha256(_read(path)).hexdigest() == digest


def test_the_json_totals_are_the_sum_of_the_fills_charges(day_of_fills, account):
    day, fills = day_of_fills
    contract_notes_generate(day=day)
    record = ContractNoteRecord.objects.get(client=account.client)
    note = json.loads(_read(record.json_path))
    mine = [f for f in fills if f.account_id == account.pk]
    assert len(mine) == 2
    assert len(note["trades"]) == 2
    expected = {k: sum((Decimal(f.charges[k]) for f in mine), Decimal(0)) for k in CHARGE_KEYS}
    obligation = note["obligation"]
    for key in ("brokerage", "stt", "exchange_transaction", "sebi_fee", "stamp_duty"):
        assert Decimal(obligation[key]) == expected[key], key
    gst = sum(Decimal(obligation[k]) for k in ("cgst", "sgst", "igst"))
    assert gst == expected["gst"]
    assert Decimal(obligation["igst"]) == 0  # no state on the KYC application: the broker's
    total = sum(expected.values(), Decimal(0))
    assert total == sum((f.charges_total for f in mine), Decimal(0))
    assert Decimal(obligation["net_amount"]) == Decimal("14000.00") + total
    assert obligation["direction"] == "PAYABLE"
    assert note["client"]["ucc"] == account.code
    assert note["client"]["address"] == "12 MG Road, Bengaluru 560001"  # from KYC
    assert note["client"]["pan"] == "ABCPR1234K"
    assert {t["isin"] for t in note["trades"]} == {"INE009A01021"}
    assert note["number"] == record.number


def test_the_pdf_signature_validates(day_of_fills, settings):
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    day, _ = day_of_fills
    record = contract_notes_generate(day=day)[0]
    cert = settings.DATA_DIR / "contract-note-signer" / "demo-contract-notes.crt"
    trust = load_cert_from_pemder(str(cert))
    (signature,) = PdfFileReader(io.BytesIO(_read(record.pdf_path))).embedded_signatures
    status = validate_pdf_signature(signature, ValidationContext(trust_roots=[trust]))
    assert status.intact
    assert status.valid
    assert status.trusted


def test_a_second_run_makes_nothing_new(day_of_fills):
    day, _ = day_of_fills
    first = contract_notes_generate(day=day)
    assert contract_notes_generate(day=day) == []
    assert list(ContractNoteRecord.objects.order_by("pk")) == sorted(first, key=lambda r: r.pk)


def test_a_client_trading_after_the_first_run_gets_the_next_number(day_of_fills, market):
    day, _fills = day_of_fills
    contract_notes_generate(day=day)
    late = Client.objects.create(
        name="Meena Das", pan="ABCPD2468Q", kyc_status=Client.KycStatus.VERIFIED
    )
    third = TradingAccount.objects.create(code="TS0003", client=late)
    funds_move(account=third, kind=LedgerKind.DEPOSIT, amount=Decimal("100000.00"))
    filled(third, "SMALLCAP", "100.00", [2])
    (made,) = contract_notes_generate(day=day)
    assert (made.client_id, made.number) == (late.pk, f"CN-{day:%Y%m%d}-000003")


def test_a_day_without_fills_makes_nothing(day_of_fills):
    day, _ = day_of_fills
    assert contract_notes_generate(day=day - timedelta(days=1)) == []
    assert not ContractNoteRecord.objects.exists()


def test_each_note_is_audited_on_the_firm_chain(day_of_fills):
    day, fills = day_of_fills
    made = contract_notes_generate(day=day)
    for record in made:
        event = AuditEvent.objects.get(action="contract_note.generated", object_id=str(record.pk))
        assert event.object_type == "compliance.contractnoterecord"
        assert event.chain == FIRM_CHAIN
        assert event.after["number"] == record.number
        assert event.after["pdf_sha256"] == record.pdf_sha256
        assert sorted(event.after["fills"]) == sorted(
            f.pk for f in fills if f.account.client_id == record.client_id
        )


def test_the_task_makes_the_days_notes_once(day_of_fills):
    day, _ = day_of_fills
    result = contract_notes_task(day=day.isoformat())
    assert result["day"] == day.isoformat()
    assert len(result["made"]) == 2
    assert contract_notes_task(day=day.isoformat())["made"] == []
    assert Fill.objects.count() == 3


def test_a_configured_certificate_signs_instead_of_the_demo_one(day_of_fills, settings, tmp_path):
    from compliance.reports.contract_note_files import demo_signer
    from compliance.reports.services import contract_note_signer

    demo_signer(tmp_path / "configured")  # any PEM pair will do
    settings.CONTRACT_NOTE_CERT_FILE = str(tmp_path / "configured" / "demo-contract-notes.crt")
    settings.CONTRACT_NOTE_KEY_FILE = str(tmp_path / "configured" / "demo-contract-notes.key")
    signer = contract_note_signer()
    assert signer.signing_cert.dump() == (demo_signer(tmp_path / "configured").signing_cert.dump())
    assert not (settings.DATA_DIR / "contract-note-signer").exists()
