"""The files of a suspicious transaction report: the machine-readable XML for FIU-IND, the
PDF for the file copy, and a zip of both with a SHA-256 manifest.

The XML is TradingSite's STR format v1 (``format="TradingSite-STR" version="1"``): it
carries the fields FINnet asks for, but it is not FIU-IND's published schema, which could
not be obtained offline. The PDF prints the XML's SHA-256, so the two are tied. See
docs/compliance-str.md. Nothing here reads the database.
"""

import hashlib
import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import fields
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from compliance.cases.report import (
    SUSPICION_CATEGORIES,
    Account,
    PrincipalOfficer,
    ReportingEntity,
    Subject,
    SuspiciousTransactionReport,
    Transaction,
)
from compliance.pdf import DEVANAGARI as _DEVANAGARI
from compliance.pdf import fonts as _fonts
from compliance.pdf import markup as _markup
from compliance.pdf import money as _money
from compliance.pdf import numbered_canvas as _numbered_canvas
from compliance.pdf import rupees_text as _rupees
from tradingsite.errors import DomainError

FORMAT_NAME = "TradingSite-STR"
FORMAT_VERSION = "1"
ROOT_ELEMENT = "TradingSiteSTR"
IST = ZoneInfo("Asia/Kolkata")
#: PML (Maintenance of Records) Rules 2005, rule 8, gives "seven working days"; we hold the
#: stricter seven calendar days, which always falls on or before it.
DAYS_TO_FILE = 7


class STRInvalid(DomainError, ValueError):
    """The report cannot be written: it names every problem found, not only the first."""

    problem_type = "validation-error"


# Element names, in the order they are written; every dataclass field has one (a test holds
# this), so a field added to report.py cannot be dropped from the file unnoticed.
ENTITY_ELEMENTS = (
    ("name", "Name"),
    ("fiu_reid", "FIUREID"),
    ("category", "Category"),
    ("sebi_registration", "SEBIRegistration"),
    ("address", "Address"),
    ("city", "City"),
    ("state", "State"),
    ("pin_code", "PinCode"),
)
OFFICER_ELEMENTS = (
    ("name", "Name"),
    ("designation", "Designation"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("address", "Address"),
)
SUBJECT_ELEMENTS = (
    ("name", "Name"),
    ("pan", "PAN"),
    ("date_of_birth", "DateOfBirth"),
    ("nationality", "Nationality"),
    ("occupation", "Occupation"),
    ("address", "Address"),
    ("mobile", "Mobile"),
    ("email", "Email"),
    ("client_ref", "ClientRef"),
)
ACCOUNT_ELEMENTS = (
    ("account_number", "AccountNumber"),
    ("holder_pan", "HolderPAN"),
    ("kind", "Kind"),
    ("status", "Status"),
    ("opened_on", "OpenedOn"),
    ("bank_ifsc", "BankIFSC"),
)
TRANSACTION_ELEMENTS = (
    ("ref", "Ref"),
    ("at", "At"),
    ("account_number", "AccountNumber"),
    ("kind", "Kind"),
    ("instrument", "Instrument"),
    ("side", "Side"),
    ("quantity", "Quantity"),
    ("price", "Price"),
    ("amount", "Amount"),
    ("currency", "Currency"),
)
REPORT_ELEMENTS = (
    ("report_ref", "ReportRef"),
    ("case_ref", "CaseRef"),
    ("generated_at", "GeneratedAt"),
    ("suspicion_determined_on", "SuspicionDeterminedOn"),
    ("due_on", "DueOn"),
    ("reporting_entity", "ReportingEntity"),
    ("principal_officer", "PrincipalOfficer"),
    ("subjects", "Subjects"),
    ("accounts", "Accounts"),
    ("transactions", "Transactions"),
    ("grounds_of_suspicion", "GroundsOfSuspicion"),
    ("suspicion_categories", "SuspicionCategories"),
    ("alerts", "Alerts"),
    ("action_taken", "ActionTaken"),
    ("prepared_by", "PreparedBy"),
    ("approved_by", "ApprovedBy"),
)
ELEMENTS: dict[type, tuple[tuple[str, str], ...]] = {
    ReportingEntity: ENTITY_ELEMENTS,
    PrincipalOfficer: OFFICER_ELEMENTS,
    Subject: SUBJECT_ELEMENTS,
    Account: ACCOUNT_ELEMENTS,
    Transaction: TRANSACTION_ELEMENTS,
    SuspiciousTransactionReport: REPORT_ELEMENTS,
}

# Characters XML 1.0 cannot carry at all (not even as references).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


# --- validation ----------------------------------------------------------------------------


def _walk_text(obj: Any, path: str) -> Iterable[tuple[str, str]]:
    """Every string in the report, with the path that names it in a message."""
    if isinstance(obj, str):
        yield path, obj
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            yield from _walk_text(item, f"{path}[{i}]")
    elif type(obj) in ELEMENTS:
        for f in fields(obj):
            yield from _walk_text(getattr(obj, f.name), f"{path}.{f.name}" if path else f.name)


def _bad_decimal(value: Decimal | None) -> bool:
    return value is not None and (not isinstance(value, Decimal) or not value.is_finite())


def str_validate(report: SuspiciousTransactionReport) -> None:
    """Refuse a report that cannot be filed as it stands, naming every problem.

    Raises ``STRInvalid`` (a ``ValueError``) with one message per problem.
    """
    problems: list[str] = []
    if not report.report_ref.strip():
        problems.append("report_ref is empty")
    if not report.subjects:
        problems.append("the report has no subjects: an STR must name the person it is about")
    if not report.transactions:
        problems.append("the report has no transactions: an STR must list what it rests on")
    expected_due = report.suspicion_determined_on + timedelta(days=DAYS_TO_FILE)
    if report.due_on != expected_due:
        problems.append(
            f"due_on is {report.due_on.isoformat()}, but an STR is due {DAYS_TO_FILE} days "
            f"after suspicion was determined ({report.suspicion_determined_on.isoformat()}): "
            f"{expected_due.isoformat()}"
        )
    if not report.grounds_of_suspicion.strip():
        problems.append("grounds_of_suspicion is empty")
    if report.generated_at.tzinfo is None or report.generated_at.utcoffset() is None:
        problems.append("generated_at has no time zone (an aware datetime is needed)")
    unknown = [c for c in report.suspicion_categories if c not in SUSPICION_CATEGORIES]
    if unknown:
        problems.append(f"unknown suspicion categories: {', '.join(unknown)}")
    for i, txn in enumerate(report.transactions):
        if txn.at.tzinfo is None or txn.at.utcoffset() is None:
            problems.append(f"transactions[{i}] ({txn.ref}): 'at' has no time zone")
        if _bad_decimal(txn.amount) or txn.amount is None:
            problems.append(f"transactions[{i}] ({txn.ref}): amount is not a finite Decimal")
        elif txn.amount < 0:
            problems.append(f"transactions[{i}] ({txn.ref}): amount is negative")
        if _bad_decimal(txn.price):
            problems.append(f"transactions[{i}] ({txn.ref}): price is not a finite Decimal")
    for path, text in _walk_text(report, ""):
        if _XML_ILLEGAL.search(text):
            problems.append(f"{path} holds a control character XML cannot carry")
    if problems:
        raise STRInvalid(
            "The STR cannot be written: " + "; ".join(problems) + ".",
            errors={"report": problems},
        )


# --- the machine-readable file -------------------------------------------------------------


def _ist(moment: datetime) -> datetime:
    return moment.astimezone(IST)


def _text(value: Any) -> str:
    """A field as the XML writes it (documented in docs/compliance-str.md)."""
    if value is None:
        return ""  # an empty element: the field is unknown (a date of birth, a price)
    if isinstance(value, datetime):
        return _ist(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return _rupees(value)
    if isinstance(value, int):
        return str(value)
    # XML parsers turn CR LF and lone CR into LF; writing LF ourselves keeps the round trip.
    return value.replace("\r\n", "\n").replace("\r", "\n")


def _fill(parent: ET.Element, obj: Any) -> None:
    for name, tag in ELEMENTS[type(obj)]:
        ET.SubElement(parent, tag).text = _text(getattr(obj, name))


def _build_xml(report: SuspiciousTransactionReport) -> ET.Element:
    root = ET.Element(ROOT_ELEMENT, {"format": FORMAT_NAME, "version": FORMAT_VERSION})
    for name, tag in REPORT_ELEMENTS:
        value = getattr(report, name)
        el = ET.SubElement(root, tag)
        if name in ("reporting_entity", "principal_officer"):
            _fill(el, value)
        elif name in ("subjects", "accounts", "transactions"):
            el.set("count", str(len(value)))
            if name == "transactions":
                el.set("totalAmount", _rupees(sum((t.amount for t in value), Decimal(0))))
            child_tag = {"subjects": "Subject", "accounts": "Account"}.get(name, "Transaction")
            for item in value:
                _fill(ET.SubElement(el, child_tag), item)
        elif name == "suspicion_categories":
            for code in value:
                ET.SubElement(el, "Category", {"code": code}).text = SUSPICION_CATEGORIES[code]
        elif name == "alerts":
            for alert in value:
                ET.SubElement(el, "Alert").text = _text(alert)
        else:
            el.text = _text(value)
    ET.indent(root, space="  ")
    return root


def str_file_name(report: SuspiciousTransactionReport, suffix: str) -> str:
    """A safe file name from the report ref, e.g. ``STR-2026-000012.str-v1.xml``."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", report.report_ref.strip()).strip("._") or "STR"
    return f"{stem}{suffix}"


def str_machine_readable(report: SuspiciousTransactionReport) -> tuple[str, bytes]:
    """(file name, content) of the machine-readable report for FIU-IND."""
    str_validate(report)
    root = _build_xml(report)
    content = ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
    return str_file_name(report, f".str-v{FORMAT_VERSION}.xml"), content


# --- the PDF -------------------------------------------------------------------------------

TIPPING_OFF = (
    "CONFIDENTIAL. Do not disclose to the client, or to anyone who need not know, that this "
    "report exists or is being filed: what is furnished under PMLA is confidential (s.12(2)), "
    "and SEBI's AML/CFT Master Circular prohibits tipping off."
)


def _unshaped_devanagari(report: SuspiciousTransactionReport) -> bool:
    """Whether the report has Devanagari that reportlab will draw unshaped: it shapes only
    when uharfbuzz is installed, which TradingSite does not pin."""
    from reportlab.pdfbase import ttfonts

    if getattr(ttfonts, "uharfbuzz", None) is not None:
        return False
    return any(_DEVANAGARI.search(text) for _, text in _walk_text(report, ""))


def _when(moment: datetime) -> str:
    return _ist(moment).strftime("%d %b %Y, %H:%M:%S IST")


def _day(value: date | None) -> str:
    return value.strftime("%d %b %Y") if value else "—"


def str_pdf(report: SuspiciousTransactionReport) -> bytes:
    """The PDF for the file copy."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        CondPageBreak,
        KeepTogether,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    str_validate(report)
    xml_name, xml_bytes = str_machine_readable(report)
    xml_sha256 = hashlib.sha256(xml_bytes).hexdigest()
    fonts = _fonts()

    ink = colors.HexColor("#1a1a1a")
    rule = colors.HexColor("#7a7a7a")
    band = colors.HexColor("#e6e9ef")
    stripe = colors.HexColor("#f5f6f8")
    base = ParagraphStyle("base", fontName=fonts.regular, fontSize=9, leading=11.5, textColor=ink)
    small = ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.2)
    small_right = ParagraphStyle("small_right", parent=small, alignment=TA_RIGHT)
    head = ParagraphStyle("head", parent=small, fontName=fonts.bold)
    head_right = ParagraphStyle("head_right", parent=head, alignment=TA_RIGHT)
    label = ParagraphStyle("label", parent=base, fontName=fonts.bold, fontSize=8.5)
    mono = ParagraphStyle("mono", parent=base, fontName=fonts.mono, fontSize=8, leading=10)
    title = ParagraphStyle(
        "title", parent=base, fontName=fonts.bold, fontSize=17, leading=21, alignment=TA_CENTER
    )
    subtitle = ParagraphStyle(
        "subtitle", parent=base, fontSize=8.5, leading=11, alignment=TA_CENTER, textColor=rule
    )
    section = ParagraphStyle(
        "section",
        parent=base,
        fontName=fonts.bold,
        fontSize=10.5,
        leading=13,
        spaceBefore=9,
        spaceAfter=4,
    )
    body = ParagraphStyle("body", parent=base, spaceAfter=5)

    def p(text: str, style: ParagraphStyle = base) -> Paragraph:
        return Paragraph(_markup(text, fonts), style)

    def heading(text: str) -> list[Any]:
        # A heading never ends a page: it moves on with the start of its section (not
        # keepWithNext, which would move the whole of a long table to the next page).
        return [CondPageBreak(28 * mm), p(text, section)]

    page_width, page_height = A4
    margin = 16 * mm
    width = page_width - 2 * margin
    grid = [
        ("GRID", (0, 0), (-1, -1), 0.4, rule),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]

    def fields_table(rows: list[tuple[str, Any]], label_width: float, total: float) -> Table:
        data = [[p(k, label), v if isinstance(v, Paragraph) else p(v)] for k, v in rows]
        t = Table(data, colWidths=[label_width, total - label_width])
        t.setStyle(TableStyle([*grid, ("BACKGROUND", (0, 0), (0, -1), band)]))
        return t

    def data_table(
        header: list[str], rows: list[list[Any]], widths: list[float], right: set[int]
    ) -> Table:
        head_row = [p(h, head_right if i in right else head) for i, h in enumerate(header)]
        body_rows = [
            [
                c if isinstance(c, Paragraph) else p(c, small_right if i in right else small)
                for i, c in enumerate(row)
            ]
            for row in rows
        ]
        t = Table([head_row, *body_rows], colWidths=widths, repeatRows=1)
        style = [*grid, ("BACKGROUND", (0, 0), (-1, 0), band)]
        style += [("BACKGROUND", (0, r), (-1, r), stripe) for r in range(2, len(rows) + 1, 2)]
        t.setStyle(TableStyle(style))
        return t

    entity, officer = report.reporting_entity, report.principal_officer
    story: list[Any] = [
        p("Suspicious Transaction Report", title),
        p(
            "To the Director, Financial Intelligence Unit - India (FIU-IND), under the "
            "Prevention of Money-laundering Act, 2002 and the PML (Maintenance of Records) "
            "Rules, 2005. File copy of the reporting entity.",
            subtitle,
        ),
        Spacer(1, 5 * mm),
        fields_table(
            [
                ("Report ref", report.report_ref),
                ("Case ref", report.case_ref),
                ("Generated", _when(report.generated_at)),
                ("Suspicion determined on", _day(report.suspicion_determined_on)),
                (
                    "Due to FIU-IND by",
                    Paragraph(
                        f"<b>{escape(_day(report.due_on))}</b> ({DAYS_TO_FILE} days from the "
                        "determination of suspicion)",
                        base,
                    ),
                ),
                ("Machine-readable file", f"{xml_name} ({FORMAT_NAME} v{FORMAT_VERSION})"),
                ("SHA-256 of that file", Paragraph(xml_sha256, mono)),
            ],
            45 * mm,
            width,
        ),
    ]

    half = (width - 4 * mm) / 2
    entity_block = fields_table(
        [
            ("Name", entity.name),
            ("FIU-IND RE ID", entity.fiu_reid),
            ("Category", entity.category),
            ("SEBI reg. no.", entity.sebi_registration),
            ("Address", f"{entity.address}\n{entity.city}, {entity.state} {entity.pin_code}"),
        ],
        26 * mm,
        half,
    )
    officer_block = fields_table(
        [
            ("Name", officer.name),
            ("Designation", officer.designation),
            ("Email", officer.email),
            ("Phone", officer.phone),
            ("Address", officer.address),
        ],
        26 * mm,
        half,
    )
    pair = Table(
        [
            [p("Reporting entity", section), "", p("Principal officer", section)],
            [entity_block, "", officer_block],
        ],
        colWidths=[half, 4 * mm, half],
    )
    pair.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    story += [Spacer(1, 3 * mm), pair]

    story += heading(f"Subjects ({len(report.subjects)})")
    story.append(
        data_table(
            ["#", "Name", "PAN", "Date of birth", "Nat.", "Occupation", "Client ref", "Contact"],
            [
                [
                    str(i),
                    s.name,
                    s.pan,
                    _day(s.date_of_birth),
                    s.nationality,
                    s.occupation,
                    s.client_ref,
                    "\n".join(x for x in (s.address, s.mobile, s.email) if x),
                ]
                for i, s in enumerate(report.subjects, start=1)
            ],
            [w * mm for w in (7, 32, 22, 20, 10, 22, 20)] + [width - 133 * mm],
            set(),
        )
    )

    if _unshaped_devanagari(report):
        story.append(Spacer(1, 1.5 * mm))
        story.append(
            p(
                "Devanagari is drawn here without Indic shaping: vowel signs and conjuncts "
                "may look out of place. The machine-readable file carries every name exactly.",
                small,
            )
        )

    story += heading(f"Accounts ({len(report.accounts)})")
    if report.accounts:
        story.append(
            data_table(
                ["#", "Account", "Holder PAN", "Kind", "Status", "Opened on", "Bank IFSC"],
                [
                    [
                        str(i),
                        a.account_number,
                        a.holder_pan,
                        a.kind,
                        a.status,
                        _day(a.opened_on),
                        a.bank_ifsc,
                    ]
                    for i, a in enumerate(report.accounts, start=1)
                ],
                [w * mm for w in (7, 34, 26, 26, 24, 24)] + [width - 141 * mm],
                set(),
            )
        )
    else:
        story.append(p("No accounts are named in this report.", body))

    txns = sorted(report.transactions, key=lambda t: (t.at, t.ref))
    total = sum((t.amount for t in txns), Decimal(0))
    by_side: dict[str, Decimal] = {}
    for t in txns:
        by_side[t.side] = by_side.get(t.side, Decimal(0)) + t.amount
    story += heading(f"Transactions ({len(txns)}), in time order, amounts in rupees")
    rows = [
        [
            str(i),
            _ist(t.at).strftime("%d-%m-%Y\n%H:%M:%S"),
            t.ref,
            t.account_number,
            t.kind,
            t.instrument or "—",
            t.side,
            f"{t.quantity:,}" if t.quantity else "—",
            _money(t.price) if t.price is not None else "—",
            _money(t.amount) + ("" if t.currency == "INR" else f" {t.currency}"),
        ]
        for i, t in enumerate(txns, start=1)
    ]
    totals_text = "Total" + "".join(
        f"\n{side or '—'}: {_money(amount)}" for side, amount in sorted(by_side.items())
    )
    rows.append(
        ["", "", p(totals_text, head), "", "", "", "", "", "", p(_money(total), head_right)]
    )
    txn_table = data_table(
        [
            "#",
            "Time (IST)",
            "Ref",
            "Account",
            "Kind",
            "Instrument",
            "Side",
            "Qty",
            "Price",
            "Amount",
        ],
        rows,
        [w * mm for w in (8, 19, 18, 16, 17, 33, 12, 10, 16)] + [width - 149 * mm],
        {0, 7, 8, 9},
    )
    last = len(rows)
    txn_table.setStyle(
        TableStyle(
            [
                ("SPAN", (2, last), (8, last)),
                ("BACKGROUND", (0, last), (-1, last), band),
                ("LINEABOVE", (0, last), (-1, last), 1, ink),
            ]
        )
    )
    story.append(txn_table)

    story += heading("Grounds of suspicion")
    for para in re.split(r"\n\s*\n", report.grounds_of_suspicion.replace("\r\n", "\n").strip()):
        story.append(p(para.strip(), body))

    story += heading("Suspicion categories")
    if report.suspicion_categories:
        for code in report.suspicion_categories:
            story.append(p(f"•  {SUSPICION_CATEGORIES[code]} ({code})", body))
    else:
        story.append(p("None named.", body))

    story += heading(f"Alerts ({len(report.alerts)})")
    for alert in report.alerts or ["None."]:
        story.append(p(f"•  {alert}" if report.alerts else alert, body))

    story += heading("Action taken")
    story.append(p(report.action_taken or "None recorded.", body))

    signatures = Table(
        [
            [p("Prepared by", label), p("Approved by (principal officer)", label)],
            [p(report.prepared_by or "—"), p(report.approved_by or "—")],
            [p("Signature and date:", small), p("Signature and date:", small)],
        ],
        colWidths=[width / 2, width / 2],
        rowHeights=[None, None, 16 * mm],
    )
    signatures.setStyle(TableStyle([*grid, ("BACKGROUND", (0, 0), (-1, 0), band)]))
    story.append(KeepTogether([*heading("Prepared and approved"), signatures]))

    footer = ParagraphStyle("footer", parent=small, fontSize=7, leading=8.6, textColor=ink)

    def draw_page(canv: Any, number: int, total_pages: int) -> None:
        canv.saveState()
        canv.setStrokeColor(rule)
        canv.setLineWidth(0.5)
        top = page_height - 11 * mm
        canv.setFont(fonts.regular, 7.5)
        canv.setFillColor(rule)
        canv.drawString(margin, top, f"{entity.name} — Suspicious Transaction Report")
        canv.drawRightString(page_width - margin, top, report.report_ref)
        canv.line(margin, top - 2, page_width - margin, top - 2)
        canv.line(margin, 17 * mm, page_width - margin, 17 * mm)
        note = Paragraph(_markup(TIPPING_OFF, fonts), footer)
        _, note_height = note.wrap(width - 30 * mm, 12 * mm)
        note.drawOn(canv, margin, 16 * mm - 1 - note_height)
        canv.setFont(fonts.bold, 7.5)
        canv.setFillColor(ink)
        canv.drawRightString(page_width - margin, 16 * mm - 9, f"Page {number} of {total_pages}")
        canv.restoreState()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=16 * mm,
        bottomMargin=22 * mm,
        title=f"Suspicious Transaction Report {report.report_ref}",
        author=entity.name,
        subject=f"STR {report.report_ref}, case {report.case_ref}",
        creator="TradingSite",
        invariant=1,
    )
    canvas_class = _numbered_canvas(draw_page)
    stamp = _ist(report.generated_at).strftime("D:%Y%m%d%H%M%S+05'30'")

    def canvasmaker(*args: Any, **kwargs: Any) -> Any:
        canv = canvas_class(*args, **kwargs)
        # invariant=1 freezes the PDF's ids; its dates are the report's own time.
        canv._doc.setDateFormatter(lambda *_: stamp)
        return canv

    doc.build(story, canvasmaker=canvasmaker)
    return buffer.getvalue()


# --- the archive ---------------------------------------------------------------------------


def str_archive(report: SuspiciousTransactionReport) -> tuple[str, bytes]:
    """(file name, zip) of the XML, the PDF and ``SHA256SUMS`` (``sha256sum -c`` format)."""
    xml_name, xml_bytes = str_machine_readable(report)
    pdf_name, pdf_bytes = str_file_name(report, ".pdf"), str_pdf(report)
    manifest = "".join(
        f"{hashlib.sha256(content).hexdigest()}  {name}\n"
        for name, content in ((xml_name, xml_bytes), (pdf_name, pdf_bytes))
    ).encode()
    stamp = _ist(report.generated_at).timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in (
            (xml_name, xml_bytes),
            (pdf_name, pdf_bytes),
            ("SHA256SUMS", manifest),
        ):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return str_file_name(report, ".zip"), buffer.getvalue()
