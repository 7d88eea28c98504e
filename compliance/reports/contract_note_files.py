"""The files of a contract note: CSV and JSON copies and a PAdES-signed A4 PDF.

The CSV has one header row, then one ``TRADE`` row per trade and one ``OBLIGATION`` row per
levy, columns :data:`CSV_COLUMNS`: ``record`` (TRADE or OBLIGATION), the trade's order no.,
order time, trade no., trade time (ISO 8601, IST), symbol, ISIN, side (BUY/SELL), product,
quantity, gross rate, brokerage per unit, net rate, net total; an OBLIGATION row fills only
``item`` (stt, exchange_transaction, sebi_fee, stamp_duty, cgst, sgst, igst, brokerage,
net_amount) and ``amount``; the net_amount row's ``side`` is ``PAYABLE`` or ``RECEIVABLE``
(by the client). The JSON has the same figures; amounts are decimal strings.
"""

import csv
import io
import json
import os
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from compliance.pdf import fonts as pdf_fonts
from compliance.pdf import markup, money, numbered_canvas
from compliance.reports.contract_note import ContractNote

IST = ZoneInfo("Asia/Kolkata")
DEMO_SIGNER_NAME = "TradingSite Demo Contract Notes"
CSV_COLUMNS = (
    "record",
    "order_number",
    "order_time",
    "trade_number",
    "trade_time",
    "symbol",
    "isin",
    "side",
    "product",
    "quantity",
    "gross_rate",
    "brokerage_per_unit",
    "net_rate",
    "net_total",
    "item",
    "amount",
)
OBLIGATION_ITEMS = (
    "stt",
    "exchange_transaction",
    "sebi_fee",
    "stamp_duty",
    "cgst",
    "sgst",
    "igst",
    "brokerage",
    "net_amount",
)


def _ist(moment: datetime) -> str:
    return moment.astimezone(IST).isoformat()


def _trade_row(trade: Any) -> dict[str, str]:
    return {
        "record": "TRADE",
        "order_number": trade.order_number,
        "order_time": _ist(trade.order_time),
        "trade_number": trade.trade_number,
        "trade_time": _ist(trade.trade_time),
        "symbol": trade.symbol,
        "isin": trade.isin,
        "side": trade.side,
        "product": trade.product,
        "quantity": str(trade.quantity),
        "gross_rate": str(trade.gross_rate),
        "brokerage_per_unit": str(trade.brokerage_per_unit),
        "net_rate": str(trade.net_rate),
        "net_total": str(trade.net_total),
    }


def _direction(note: ContractNote) -> str:
    return "PAYABLE" if note.obligation.payable_by_client else "RECEIVABLE"


def contract_note_csv(note: ContractNote) -> bytes:
    """The CSV copy (UTF-8, CRLF line ends), columns as the module docstring says."""
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, restval="")
    writer.writeheader()
    for trade in note.trades:
        writer.writerow(_trade_row(trade))
    for item in OBLIGATION_ITEMS:
        row = {"record": "OBLIGATION", "item": item}
        row["amount"] = str(getattr(note.obligation, item))
        if item == "net_amount":
            row["side"] = _direction(note)
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def contract_note_json(note: ContractNote) -> bytes:
    """The JSON copy: the whole note, amounts as decimal strings, times ISO 8601 in IST."""

    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, datetime):
            return _ist(value)
        if hasattr(value, "isoformat"):
            return value.isoformat()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    data = plain(asdict(note))
    data["obligation"]["direction"] = _direction(note)
    del data["obligation"]["payable_by_client"]
    return json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8")


# --- signing -------------------------------------------------------------------------------


def signer_from_files(cert_path: Path, key_path: Path, passphrase: bytes | None = None) -> Any:
    """A pyHanko signer from a PEM (or DER) certificate and private key, for production."""
    from pyhanko.sign import signers

    signer = signers.SimpleSigner.load(
        key_file=str(key_path), cert_file=str(cert_path), key_passphrase=passphrase
    )
    if signer is None:
        raise ValueError(f"cannot load a signing key and certificate from {key_path}, {cert_path}")
    return signer


def demo_signer(directory: Path) -> Any:
    """A signer with a self-signed demo certificate, made once in ``directory`` and reused
    (``demo-contract-notes.crt`` and ``.key``, PEM, the key unencrypted: demo only)."""
    from datetime import UTC, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    directory = Path(directory)
    cert_path = directory / "demo-contract-notes.crt"
    key_path = directory / "demo-contract-notes.key"
    if not (cert_path.exists() and key_path.exists()):
        directory.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "IN"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "TradingSite"),
                x509.NameAttribute(NameOID.COMMON_NAME, DEMO_SIGNER_NAME),
            ]
        )
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,  # nonRepudiation
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # Made readable by the owner only from the start, not chmod-ed afterwards.
        with os.fdopen(os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
            f.write(pem)
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return signer_from_files(cert_path, key_path)


def _sign(pdf: bytes, signer: Any, note: ContractNote) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    meta = signers.PdfSignatureMetadata(
        field_name="ContractNoteSignature",
        reason=f"Contract note {note.number}",
        name=note.broker.name,
        subfilter=fields.SigSeedSubFilter.PADES,
    )
    return signers.sign_pdf(writer, meta, signer=signer).getvalue()


# --- the PDF -------------------------------------------------------------------------------


def contract_note_pdf(note: ContractNote, *, signer: Any = None) -> bytes:
    """The A4 contract note, signed (PAdES) with ``signer`` when one is given."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        KeepTogether,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    fonts = pdf_fonts()
    ink = colors.HexColor("#1a1a1a")
    rule = colors.HexColor("#7a7a7a")
    band = colors.HexColor("#e6e9ef")
    base = ParagraphStyle("base", fontName=fonts.regular, fontSize=8.5, leading=10.5, textColor=ink)
    small = ParagraphStyle("small", parent=base, fontSize=7, leading=8.6)
    small_right = ParagraphStyle("small_right", parent=small, alignment=TA_RIGHT)
    head = ParagraphStyle("head", parent=small, fontName=fonts.bold)
    head_right = ParagraphStyle("head_right", parent=head, alignment=TA_RIGHT)
    label = ParagraphStyle("label", parent=base, fontName=fonts.bold, fontSize=8)
    right = ParagraphStyle("right", parent=base, alignment=TA_RIGHT)
    bold_right = ParagraphStyle("bold_right", parent=right, fontName=fonts.bold)
    title = ParagraphStyle(
        "title", parent=base, fontName=fonts.bold, fontSize=15, leading=19, alignment=TA_CENTER
    )
    section = ParagraphStyle(
        "section",
        parent=base,
        fontName=fonts.bold,
        fontSize=10,
        leading=13,
        spaceBefore=7,
        spaceAfter=3,
    )

    def p(text: str, style: ParagraphStyle = base) -> Paragraph:
        return Paragraph(markup(text, fonts), style)

    page_width = A4[0]
    margin = 12 * mm
    width = page_width - 2 * margin
    grid = [
        ("GRID", (0, 0), (-1, -1), 0.4, rule),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("LEFTPADDING", (0, 0), (-1, -1), 2.5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2.5),
    ]

    def fields_table(rows: list[tuple[str, str]], label_width: float, total: float) -> Table:
        t = Table(
            [[p(k, label), p(v)] for k, v in rows], colWidths=[label_width, total - label_width]
        )
        t.setStyle(TableStyle([*grid, ("BACKGROUND", (0, 0), (0, -1), band)]))
        return t

    broker, client, ob = note.broker, note.client, note.obligation
    half = (width - 4 * mm) / 2
    broker_block = fields_table(
        [
            ("Trading member", broker.name),
            ("SEBI reg. no.", broker.sebi_registration),
            ("Trading member code", broker.trading_member_code),
            ("Address", f"{broker.address}\n{broker.state}"),
            ("GSTIN", broker.gstin),
            (
                "Compliance officer",
                f"{broker.compliance_officer_name}\n{broker.compliance_officer_email}\n"
                f"{broker.compliance_officer_phone}",
            ),
        ],
        30 * mm,
        half,
    )
    note_block = fields_table(
        [
            ("Contract note no.", note.number),
            *([("Supplements", note.supplements)] if note.supplements else []),
            ("Trade date", note.trade_date.strftime("%d-%m-%Y")),
            ("Settlement no.", note.settlement_number),
            ("Client", client.name),
            ("UCC", client.ucc),
            ("PAN", client.pan),
            ("Address", f"{client.address}\n{client.state}"),
        ],
        30 * mm,
        half,
    )
    pair = Table([[broker_block, "", note_block]], colWidths=[half, 4 * mm, half])
    pair.setStyle(
        TableStyle(
            [("VALIGN", (0, 0), (-1, -1), "TOP")]
            + [
                (k, (0, 0), (-1, -1), 0)
                for k in ("LEFTPADDING", "RIGHTPADDING", "TOPPADDING", "BOTTOMPADDING")
            ]
        )
    )
    story: list[Any] = [
        p(
            f"{'Supplementary ' if note.supplements else ''}Contract Note cum Tax Invoice",
            title,
        ),
        p(
            "Equity cash segment, NSE.",
            ParagraphStyle("sub", parent=small, alignment=TA_CENTER, textColor=rule),
        ),
        Spacer(1, 3 * mm),
        pair,
        p("Trades (rates and amounts in rupees)", section),
    ]
    header = [
        "Order no.\nOrder time",
        "Trade no.\nTrade time",
        "Security\nISIN",
        "B/S",
        "Qty",
        "Gross rate",
        "Brokerage\nper unit",
        "Net rate",
        "Net total",
    ]
    right_cols = {4, 5, 6, 7, 8}
    rows = [[p(h, head_right if i in right_cols else head) for i, h in enumerate(header)]]
    for t in note.trades:
        cells = [
            f"{t.order_number}\n{t.order_time.astimezone(IST):%H:%M:%S}",
            f"{t.trade_number}\n{t.trade_time.astimezone(IST):%H:%M:%S}",
            f"{t.symbol} ({t.product})\n{t.isin}",
            "B" if t.side == "BUY" else "S",
            str(t.quantity),
            money(t.gross_rate),
            str(t.brokerage_per_unit),
            str(t.net_rate),
            money(t.net_total),
        ]
        rows.append([p(c, small_right if i in right_cols else small) for i, c in enumerate(cells)])
    widths = [w * mm for w in (24, 24, 33, 9, 12, 20, 18, 21)]
    trades = Table(rows, colWidths=[*widths, width - sum(widths)], repeatRows=1)
    trades.setStyle(TableStyle([*grid, ("BACKGROUND", (0, 0), (-1, 0), band)]))
    story.append(trades)

    direction = "payable by client" if ob.payable_by_client else "receivable by client"
    levies = [
        ("Brokerage", ob.brokerage),
        ("Securities transaction tax (STT)", ob.stt),
        ("Exchange transaction charge", ob.exchange_transaction),
        ("SEBI turnover fee", ob.sebi_fee),
        ("Stamp duty", ob.stamp_duty),
        ("CGST (9 %)", ob.cgst),
        ("SGST (9 %)", ob.sgst),
        ("IGST (18 %)", ob.igst),
    ]
    ob_rows = [[p(name), p(money(amount), right)] for name, amount in levies]
    ob_rows.append([p(f"Net amount {direction}", label), p(money(ob.net_amount), bold_right)])
    ob_table = Table(ob_rows, colWidths=[70 * mm, 35 * mm], hAlign="RIGHT")
    ob_table.setStyle(
        TableStyle(
            [
                *grid,
                ("BACKGROUND", (0, -1), (-1, -1), band),
                ("LINEABOVE", (0, -1), (-1, -1), 1, ink),
            ]
        )
    )
    story += [KeepTogether([p("Obligation (rupees)", section), ob_table]), Spacer(1, 4 * mm)]
    story.append(
        p(
            "GST is charged on brokerage, the exchange transaction charge and the SEBI fee. "
            f"Generated {note.generated_at.astimezone(IST):%d-%m-%Y %H:%M:%S} IST. "
            "This note is digitally signed by the trading member; the signature can be "
            "checked in any PDF reader.",
            small,
        )
    )

    def draw_page(canv: Any, number: int, total_pages: int) -> None:
        canv.saveState()
        canv.setStrokeColor(rule)
        canv.setLineWidth(0.5)
        canv.line(margin, 12 * mm, page_width - margin, 12 * mm)
        canv.setFont(fonts.regular, 7)
        canv.setFillColor(rule)
        canv.drawString(margin, 8 * mm, f"{broker.name} — contract note {note.number}")
        canv.setFont(fonts.bold, 7.5)
        canv.setFillColor(ink)
        canv.drawRightString(page_width - margin, 8 * mm, f"Page {number} of {total_pages}")
        canv.restoreState()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=12 * mm,
        bottomMargin=16 * mm,
        title=f"Contract note {note.number}",
        author=broker.name,
        subject=f"Contract note {note.number} of {note.trade_date}, UCC {client.ucc}",
        creator="TradingSite",
        invariant=1,
    )
    canvas_class = numbered_canvas(draw_page)
    stamp = note.generated_at.astimezone(IST).strftime("D:%Y%m%d%H%M%S+05'30'")

    def canvasmaker(*args: Any, **kwargs: Any) -> Any:
        canv = canvas_class(*args, **kwargs)
        canv._doc.setDateFormatter(lambda *_: stamp)
        return canv

    doc.build(story, canvasmaker=canvasmaker)
    pdf = buffer.getvalue()
    return _sign(pdf, signer, note) if signer is not None else pdf
