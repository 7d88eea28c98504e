"""The STR's files: the machine-readable XML reads back to every field, the PDF carries what
the officer must see, and a report that cannot be filed is refused with a reason."""

import dataclasses
import hashlib
import io
import shutil
import subprocess
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from defusedxml import ElementTree as SafeET

from compliance.cases import str_files
from compliance.cases.report import (
    SUSPICION_CATEGORIES,
    Account,
    PrincipalOfficer,
    ReportingEntity,
    Subject,
    SuspiciousTransactionReport,
    Transaction,
)
from compliance.cases.str_files import (
    ELEMENTS,
    FORMAT_NAME,
    FORMAT_VERSION,
    STRInvalid,
    str_archive,
    str_machine_readable,
    str_pdf,
    str_validate,
)
from conftest import require

IST = ZoneInfo("Asia/Kolkata")
GROUNDS = (
    "The client & his brother traded NIFTY options against each other at off-market prices "
    "on 14 days, moving ₹18 lakh between the accounts.\r\n\r\n"
    'The client said the trades were "hedges" <for family reasons>; no economic rationale.'
)


def make_report(n_transactions: int = 3, **changes) -> SuspiciousTransactionReport:
    start = datetime(2026, 3, 2, 3, 45, tzinfo=UTC)  # 09:15 IST
    transactions = [
        Transaction(
            ref=f"fill:{1000 + i}",
            at=start + timedelta(minutes=7 * i, microseconds=250 if i == 1 else 0),
            account_number="TS-0042" if i % 2 else "TS-0043",
            kind="trade",
            instrument="NIFTY26MAR22500CE",
            side="BUY" if i % 2 else "SELL",
            quantity=75 * (1 + i % 4),
            price=Decimal("143.05") + i,
            amount=(Decimal("143.05") + i) * 75 * (1 + i % 4),
        )
        for i in range(max(n_transactions - 1, 0))
    ]
    if n_transactions:
        transactions.append(
            Transaction(
                ref="ledger:45",
                at=datetime(2026, 3, 3, 16, 5, 9, tzinfo=IST),
                account_number="TS-0042",
                kind="withdrawal",
                instrument="",
                side="DEBIT",
                quantity=0,
                price=None,
                amount=Decimal("1800000"),
            )
        )
    report = SuspiciousTransactionReport(
        report_ref="STR-2026-000012",
        case_ref="CASE-2026-0031",
        generated_at=datetime(2026, 3, 5, 6, 30, tzinfo=UTC),
        suspicion_determined_on=date(2026, 3, 4),
        due_on=date(2026, 3, 11),
        reporting_entity=ReportingEntity(
            name="Shah & Rao Securities <Pvt> Ltd",
            fiu_reid="BRSEB00001",
            category="Stock broker",
            sebi_registration="INZ000123456",
            address="4th floor, Dalal Street",
            city="Mumbai",
            state="Maharashtra",
            pin_code="400001",
        ),
        principal_officer=PrincipalOfficer(
            name="Meera Iyer",
            designation="Principal Officer",
            email="po@shahrao.example",
            phone="+91 22 4000 1234",
            address="4th floor, Dalal Street, Mumbai 400001",
        ),
        subjects=[
            Subject(
                name='Ravi "Ricky" D\'Souza & Sons',
                pan="ABCPD1234E",
                date_of_birth=date(1981, 7, 9),
                nationality="IN",
                occupation="Trader",
                address="12 MG Road, Pune 411001",
                mobile="+91 98200 00001",
                email="ravi@example.in",
                client_ref="C-00042",
            ),
            Subject(
                name="राजेश कुमार",
                pan="BCDPK5678F",
                date_of_birth=None,
                nationality="IN",
                occupation="",
                address="",
                mobile="",
                email="",
                client_ref="C-00043",
            ),
        ],
        accounts=[
            Account("TS-0042", "ABCPD1234E", "client", "active", date(2024, 1, 15), "HDFC0000123"),
            Account("TS-0043", "BCDPK5678F", "client", "frozen", None, ""),
        ],
        transactions=transactions,
        grounds_of_suspicion=GROUNDS,
        suspicion_categories=["market_abuse", "transaction_nature"],
        alerts=["circular_trading: 14 matched pairs in 10 days", "offmarket_price: 22% off LTP"],
        action_taken="Accounts frozen for withdrawals; case escalated to the principal officer.",
        prepared_by="Anil Shah (AML analyst)",
        approved_by="Meera Iyer (Principal Officer)",
    )
    return dataclasses.replace(report, **changes)


def normalised(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_back(content: bytes) -> SuspiciousTransactionReport:
    """Read the XML as an independent consumer would, knowing only the documented format."""
    root = SafeET.fromstring(content)
    tags = {cls: dict(pairs) for cls, pairs in ELEMENTS.items()}

    def value(el, kind):
        text = el.text or ""
        if kind is date or kind == (date | None):
            return date.fromisoformat(text) if text else None
        if kind is datetime:
            return datetime.fromisoformat(text)
        if kind is int:
            return int(text)
        if kind is Decimal or kind == (Decimal | None):
            return Decimal(text) if text else None
        return text

    def read(el, cls):
        types = {f.name: f.type for f in dataclasses.fields(cls)}
        return cls(**{name: value(el.find(tag), types[name]) for name, tag in ELEMENTS[cls]})

    r = tags[SuspiciousTransactionReport]
    return SuspiciousTransactionReport(
        report_ref=root.findtext(r["report_ref"]),
        case_ref=root.findtext(r["case_ref"]),
        generated_at=datetime.fromisoformat(root.findtext(r["generated_at"])),
        suspicion_determined_on=date.fromisoformat(root.findtext(r["suspicion_determined_on"])),
        due_on=date.fromisoformat(root.findtext(r["due_on"])),
        reporting_entity=read(root.find(r["reporting_entity"]), ReportingEntity),
        principal_officer=read(root.find(r["principal_officer"]), PrincipalOfficer),
        subjects=[read(el, Subject) for el in root.find(r["subjects"])],
        accounts=[read(el, Account) for el in root.find(r["accounts"])],
        transactions=[read(el, Transaction) for el in root.find(r["transactions"])],
        grounds_of_suspicion=root.findtext(r["grounds_of_suspicion"]),
        suspicion_categories=[el.get("code") for el in root.find(r["suspicion_categories"])],
        alerts=[el.text for el in root.find(r["alerts"])],
        action_taken=root.findtext(r["action_taken"]),
        prepared_by=root.findtext(r["prepared_by"]),
        approved_by=root.findtext(r["approved_by"]),
    )


def pdf_text(content: bytes, tmp_path) -> str:
    require(shutil.which("pdftotext") is not None, "pdftotext (Debian's poppler-utils)")
    path = tmp_path / "str.pdf"
    path.write_bytes(content)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def pdf_pages(content: bytes, tmp_path) -> int:
    require(shutil.which("pdfinfo") is not None, "pdfinfo (Debian's poppler-utils)")
    path = tmp_path / "str.pdf"
    path.write_bytes(content)
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return int(next(line for line in info.splitlines() if line.startswith("Pages:")).split()[1])


# --- the machine-readable file ---------------------------------------------------------------


def test_every_dataclass_field_has_an_element():
    for cls, pairs in ELEMENTS.items():
        assert [name for name, _ in pairs] == [f.name for f in dataclasses.fields(cls)], cls


@pytest.mark.parametrize("n_transactions", [1, 3, 120])
def test_the_xml_reads_back_to_every_field(n_transactions):
    report = make_report(n_transactions)
    name, content = str_machine_readable(report)

    back = parse_back(content)

    expected = dataclasses.replace(
        report,
        grounds_of_suspicion=normalised(report.grounds_of_suspicion),
        generated_at=report.generated_at.astimezone(IST),
        transactions=[dataclasses.replace(t, at=t.at.astimezone(IST)) for t in report.transactions],
    )
    assert back == expected
    assert name == "STR-2026-000012.str-v1.xml"


def test_the_xml_is_versioned_utf8_with_ist_times_and_rupee_strings():
    _, content = str_machine_readable(make_report(3))
    root = SafeET.fromstring(content)

    assert content.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    assert root.tag == "TradingSiteSTR"
    assert (
        (root.get("format"), root.get("version"))
        == (FORMAT_NAME, FORMAT_VERSION)
        == (
            "TradingSite-STR",
            "1",
        )
    )
    assert "राजेश कुमार".encode() in content  # UTF-8 as is, not character references
    assert root.findtext("GeneratedAt") == "2026-03-05T12:00:00+05:30"
    first, second, cash = root.find("Transactions")
    assert first.findtext("At") == "2026-03-02T09:15:00+05:30"
    assert second.findtext("At") == "2026-03-02T09:22:00.000250+05:30"
    assert first.findtext("Price") == "143.05"
    assert cash.findtext("Amount") == "1800000.00"
    assert cash.findtext("Price") == ""
    assert root.find("Transactions").get("count") == "3"
    assert root.find("Transactions").get("totalAmount") == str(
        sum(t.amount for t in make_report(3).transactions)
    )
    assert [el.text for el in root.find("SuspicionCategories")] == [
        SUSPICION_CATEGORIES["market_abuse"],
        SUSPICION_CATEGORIES["transaction_nature"],
    ]


def test_the_xml_escapes_markup_in_names_and_text():
    _, content = str_machine_readable(make_report(1))

    assert b"Shah &amp; Rao Securities &lt;Pvt&gt; Ltd" in content
    assert b"&lt;for family reasons&gt;" in content
    assert b"<for family" not in content
    root = SafeET.fromstring(content)
    assert root.find("Subjects")[0].findtext("Name") == 'Ravi "Ricky" D\'Souza & Sons'


def test_the_element_order_is_stable():
    _, content = str_machine_readable(make_report(2))
    root = SafeET.fromstring(content)

    assert [el.tag for el in root] == [tag for _, tag in ELEMENTS[SuspiciousTransactionReport]]
    assert [el.tag for el in root.find("Subjects")[0]] == [tag for _, tag in ELEMENTS[Subject]]
    assert str_machine_readable(make_report(2))[1] == content


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"subjects": []}, "no subjects"),
        ({"transactions": []}, "no transactions"),
        ({"due_on": date(2026, 3, 12)}, "due_on is 2026-03-12, but an STR is due 7 days"),
        ({"due_on": date(2026, 3, 10)}, "2026-03-11"),
        ({"grounds_of_suspicion": "  \n"}, "grounds_of_suspicion is empty"),
        ({"generated_at": datetime(2026, 3, 5, 12, 0)}, "generated_at has no time zone"),
        ({"suspicion_categories": ["astrology"]}, "unknown suspicion categories: astrology"),
        ({"action_taken": "frozen\x00"}, "action_taken holds a control character"),
    ],
)
def test_a_report_that_cannot_be_filed_is_refused(changes, message):
    report = make_report(3, **changes)

    for write in (str_validate, str_machine_readable, str_pdf):
        with pytest.raises(ValueError, match=message) as refused:
            write(report)
        assert isinstance(refused.value, STRInvalid)


def test_every_problem_is_named_at_once():
    report = make_report(0, subjects=[], due_on=date(2026, 3, 4))

    with pytest.raises(STRInvalid) as refused:
        str_validate(report)

    assert len(refused.value.errors["report"]) == 3
    assert "no subjects" in str(refused.value)
    assert "no transactions" in str(refused.value)
    assert "due_on" in str(refused.value)


def test_a_naive_or_negative_transaction_is_refused_by_its_ref():
    report = make_report(2)
    bad = [
        dataclasses.replace(report.transactions[0], at=datetime(2026, 3, 2, 9, 15)),
        dataclasses.replace(report.transactions[1], amount=Decimal("-5")),
    ]

    with pytest.raises(ValueError, match=r"fill:1000.*no time zone.*ledger:45.*negative"):
        str_validate(dataclasses.replace(report, transactions=bad))


# --- the PDF ---------------------------------------------------------------------------------


def test_the_pdf_carries_what_the_officer_must_see(tmp_path):
    report = make_report(3)
    content = str_pdf(report)
    sha = hashlib.sha256(str_machine_readable(report)[1]).hexdigest()

    assert content.startswith(b"%PDF")
    text = pdf_text(content, tmp_path)
    for expected in (
        "Suspicious Transaction Report",
        "STR-2026-000012",
        "CASE-2026-0031",
        "ABCPD1234E",
        "The client & his brother traded NIFTY options",
        '"hedges" <for family reasons>',
        "11 Mar 2026",
        sha,
        "Shah & Rao Securities <Pvt> Ltd",
        "BRSEB00001",
        SUSPICION_CATEGORIES["market_abuse"],
        "circular_trading: 14 matched pairs",
        "Accounts frozen for withdrawals",
        "18,00,000.00",
        "Page 1 of ",
        "Do not disclose to the client",
    ):
        assert expected in text, expected


def test_a_long_report_breaks_across_pages_with_the_header_repeated(tmp_path):
    content = str_pdf(make_report(120))

    pages = pdf_pages(content, tmp_path)
    assert pages > 1
    text = pdf_text(content, tmp_path)
    page_texts = text.split("\f")
    assert f"Page {pages} of {pages}" in page_texts[pages - 1]
    # The transactions table's header row is drawn again on each page it continues on.
    with_header = [t for t in page_texts if "Time (IST)" in t and "Instrument" in t]
    assert len(with_header) >= 2
    assert "fill:1118" in text
    assert "Total" in text


def test_a_devanagari_name_does_not_stop_the_pdf(tmp_path):
    content = str_pdf(make_report(1))

    assert content.startswith(b"%PDF")
    assert "BCDPK5678F" in pdf_text(content, tmp_path)


def test_the_pdf_is_deterministic():
    report = make_report(3)

    assert str_pdf(report) == str_pdf(report)
    assert b"D:20260305120000+05'30'" in str_pdf(report)


# --- the archive -----------------------------------------------------------------------------


def test_the_archive_holds_both_files_and_their_sums():
    report = make_report(3)

    name, content = str_archive(report)

    assert name == "STR-2026-000012.zip"
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = archive.namelist()
        assert names == ["STR-2026-000012.str-v1.xml", "STR-2026-000012.pdf", "SHA256SUMS"]
        sums = archive.read("SHA256SUMS").decode().splitlines()
        for line in sums:
            digest, member = line.split("  ")
            assert hashlib.sha256(archive.read(member)).hexdigest() == digest
        assert archive.read(names[0]) == str_machine_readable(report)[1]
    assert str_archive(report)[1] == content


def test_without_truetype_fonts_the_pdf_still_writes(monkeypatch):
    """A machine without DejaVu or a Devanagari font falls back to the PDF base fonts."""
    monkeypatch.setattr("compliance.pdf.FONT_DIRS", ())  # where the font helpers live
    str_files._fonts.cache_clear()
    try:
        assert str_files._fonts().regular == "Helvetica"
        content = str_pdf(make_report(3))
    finally:
        str_files._fonts.cache_clear()

    assert content.startswith(b"%PDF")
    assert b"/Helvetica" in content
