"""The contract notes demo: after the other seeders traded, every day with fills gets its
notes, made and e-mailed (to files in the data folder on the demo profile); a second run
makes and sends nothing."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail

from compliance.reports import demo
from compliance.reports.models import ContractNoteDispatch, ContractNoteRecord
from compliance.tests.contract_note_fixtures import filled
from orders.models import Fill

pytestmark = pytest.mark.django_db


def test_the_demo_makes_and_mails_the_notes_of_every_day_traded(day_of_fills, account):
    day, _ = day_of_fills
    earlier = filled(account, "INFY", "1400.00", [1])
    Fill.objects.filter(pk=earlier[0].pk).update(trade_date=day - timedelta(days=1))
    out = StringIO()
    demo.seed(stdout=out)
    assert sorted(ContractNoteRecord.objects.values_list("trade_date", flat=True)) == [
        day - timedelta(days=1), day, day,
    ]  # fmt: skip
    assert "Contract notes: 3 made, 2 e-mailed" in out.getvalue()
    assert "1 failed" in out.getvalue()  # Ravi has no KYC e-mail
    assert len(mail.outbox) == 2
    again = StringIO()
    demo.seed(stdout=again)
    assert ContractNoteRecord.objects.count() == 3
    assert ContractNoteDispatch.objects.filter(status=ContractNoteDispatch.Status.SENT).count() == 2
    assert len(mail.outbox) == 2
    assert "Contract notes: 0 made, 0 e-mailed" in again.getvalue()  # Ravi tried once more


def test_the_demo_exports_every_register_once(day_of_fills, user_in_role):
    from compliance.reports.models import ReportExport
    from compliance.reports.registers import REGISTERS

    user_in_role("Compliance Officer", "compliance")
    out = StringIO()
    demo.seed_exports(stdout=out)
    exports = ReportExport.objects.all()
    assert {e.kind for e in exports} == set(REGISTERS)
    assert {e.format for e in exports if e.kind == "trade_register"} == {"csv", "xlsx", "pdf"}
    assert {e.status for e in exports} == {ReportExport.Status.SUCCEEDED}, [
        (e.kind, e.error) for e in exports if e.error
    ]
    assert f"Report exports: {exports.count()} of {exports.count()} made" in out.getvalue()
    demo.seed_exports(stdout=StringIO())
    assert ReportExport.objects.count() == exports.count()  # a second run makes nothing
