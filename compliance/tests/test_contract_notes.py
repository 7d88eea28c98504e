"""Contract notes: the figures from a day's fills, the CSV/JSON copies, the signed PDF.

Pure: no database. The fills' charges are what ``fill_apply`` stores
(``charges_for_fill(...).as_dict()``), and every figure is also worked out by hand below
from the rows of ``orders/data/charge_rates.csv`` and ``brokerage_plans.csv``.
"""

import csv
import io
import json
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest

from compliance.reports.contract_note import (
    Broker,
    FillFigures,
    NoteClient,
    contract_note_build,
)
from compliance.reports.contract_note_files import (
    contract_note_csv,
    contract_note_json,
    contract_note_pdf,
    demo_signer,
)
from orders.charges import (
    BROKERAGE_PLANS_CSV,
    CHARGE_RATES_CSV,
    charges_for_fill,
    load_brokerage_plans,
    load_charge_rates,
)

IST = ZoneInfo("Asia/Kolkata")
DAY = date(2026, 12, 2)
D = Decimal

BROKER = Broker(
    name="TradingSite Securities Pvt Ltd",
    sebi_registration="INZ000123456",
    trading_member_code="90123",
    address="12 Dalal Street, Fort, Mumbai 400001",
    state="Maharashtra",
    gstin="27AABCT1234F1Z5",
    compliance_officer_name="Meera Iyer",
    compliance_officer_email="compliance@tradingsite.example",
    compliance_officer_phone="+91 22 4000 1234",
)
SAME_STATE = NoteClient(
    name="Asha Patil", ucc="TS00042", pan="ABCPP1234K", address="Pune 411001", state="Maharashtra"
)
OTHER_STATE = NoteClient(
    name="Ravi Kumar",
    ucc="TS00077",
    pan="BCDPK5678L",
    address="Bengaluru 560001",
    state="Karnataka",
)

# The published rates in force on DAY, as the rate files have them (checked below).
EXCHANGE_TXN = D("0.0000297")  # NSE, from 2024-10-01, both sides
SEBI_FEE = D("0.000001")  # Rs 10 per crore, from 2021-04-01
STT_CNC = D("0.001")  # delivery, both sides
STT_MIS_SELL = D("0.00025")  # intraday sell only
STAMP_CNC_BUY = D("0.00015")
STAMP_MIS_BUY = D("0.00003")
GST = D("0.18")  # on brokerage + exchange transaction charge + SEBI fee
DISCOUNT_MIS_RATE, DISCOUNT_MIS_CAP = D("0.0003"), D("20")  # CNC is free


def test_the_hand_rates_are_the_rate_files():
    with CHARGE_RATES_CSV.open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["effective_to"] == ""]
    in_force = {(r["charge"], r["product"], r["side"]): D(r["rate"]) for r in rows}
    assert in_force[("exchange_transaction", "*", "*")] == EXCHANGE_TXN
    assert in_force[("sebi_fee", "*", "*")] == SEBI_FEE
    assert in_force[("stt", "CNC", "*")] == STT_CNC
    assert in_force[("stt", "MIS", "SELL")] == STT_MIS_SELL
    assert in_force[("stt", "MIS", "BUY")] == 0
    assert in_force[("stamp_duty", "CNC", "BUY")] == STAMP_CNC_BUY
    assert in_force[("stamp_duty", "MIS", "BUY")] == STAMP_MIS_BUY
    assert in_force[("stamp_duty", "*", "SELL")] == 0
    assert in_force[("gst", "*", "*")] == GST
    with BROKERAGE_PLANS_CSV.open(newline="") as f:
        plans = {(r["code"], r["product"]): r for r in csv.DictReader(f)}
    assert D(plans[("DISCOUNT", "MIS")]["rate"]) == DISCOUNT_MIS_RATE
    assert D(plans[("DISCOUNT", "MIS")]["cap_per_order"]) == DISCOUNT_MIS_CAP
    assert D(plans[("DISCOUNT", "CNC")]["rate"]) == 0


def paisa(value: Decimal) -> Decimal:
    return value.quantize(D("0.01"), rounding=ROUND_HALF_UP)


# (order, trade, order time, trade time, symbol, isin, side, product, qty, price)
FILLS = [
    ("ORD-1", "T-101", "09:20:00", "09:20:05", "INFY", "INE009A01021", "BUY", "MIS", 60, "1500.00"),
    ("ORD-1", "T-102", "09:20:00", "09:21:10", "INFY", "INE009A01021", "BUY", "MIS", 40, "1500.50"),
    (
        "ORD-2",
        "T-201",
        "14:55:00",
        "14:55:02",
        "INFY",
        "INE009A01021",
        "SELL",
        "MIS",
        100,
        "1510.25",
    ),
    ("ORD-3", "T-301", "10:05:00", "10:05:01", "TCS", "INE467B01029", "BUY", "CNC", 10, "3456.70"),
]


def at(hms: str) -> datetime:
    return datetime.fromisoformat(f"{DAY}T{hms}").replace(tzinfo=IST)


def engine_fills() -> list[FillFigures]:
    """The fills with the charges fill_apply would store (brokerage cap across an order)."""
    rates = load_charge_rates(CHARGE_RATES_CSV)
    plans = load_brokerage_plans(BROKERAGE_PLANS_CSV)
    charged: dict[str, Decimal] = {}
    out = []
    for order, trade, o_at, t_at, symbol, isin, side, product, qty, price in FILLS:
        breakdown = charges_for_fill(
            rates=rates,
            plans=plans,
            plan_code="DISCOUNT",
            trade_date=DAY,
            exchange="NSE",
            product=product,
            side=side,
            quantity=qty,
            price=D(price),
            brokerage_already_charged=charged.get(order, D(0)),
        )
        charged[order] = charged.get(order, D(0)) + breakdown.brokerage
        out.append(
            FillFigures(
                order_number=order,
                order_time=at(o_at),
                trade_number=trade,
                trade_time=at(t_at),
                trade_date=DAY,
                symbol=symbol,
                isin=isin,
                side=side,
                product=product,
                quantity=qty,
                price=D(price),
                charges=breakdown.as_dict(),
            )
        )
    return out


# By hand, per fill: turnover, then each charge rounded half up to the paisa.
# T-101 MIS BUY 60 x 1500.00 = 90000.00
#   brokerage 0.0003 x 90000 = 27.00, capped at 20.00 (the order's first fill)
#   exch 90000 x 0.0000297 = 2.673 -> 2.67; sebi 0.09; stamp 90000 x 0.00003 = 2.70
#   gst 0.18 x (20.00 + 2.67 + 0.09) = 0.18 x 22.76 = 4.0968 -> 4.10
# T-102 MIS BUY 40 x 1500.50 = 60020.00
#   brokerage 18.006, but the order already paid the cap 20.00 -> 0.00
#   exch 1.782594 -> 1.78; sebi 0.06002 -> 0.06; stamp 1.8006 -> 1.80
#   gst 0.18 x (0 + 1.78 + 0.06) = 0.3312 -> 0.33
# T-201 MIS SELL 100 x 1510.25 = 151025.00
#   brokerage 45.3075, capped at 20.00; stt 0.00025 x 151025 = 37.75625 -> 37.76
#   exch 4.4854425 -> 4.49; sebi 0.151025 -> 0.15; stamp 0 (sell)
#   gst 0.18 x (20.00 + 4.49 + 0.15) = 0.18 x 24.64 = 4.4352 -> 4.44
# T-301 CNC BUY 10 x 3456.70 = 34567.00
#   brokerage 0 (delivery is free); stt 34.567 -> 34.57; exch 1.0266399 -> 1.03
#   sebi 0.034567 -> 0.03; stamp 0.00015 x 34567 = 5.18505 -> 5.19
#   gst 0.18 x (0 + 1.03 + 0.03) = 0.1908 -> 0.19
HAND = {
    "T-101": {
        "brokerage": "20.00",
        "stt": "0.00",
        "exchange_transaction": "2.67",
        "sebi_fee": "0.09",
        "stamp_duty": "2.70",
        "gst": "4.10",
        "total": "29.56",
    },
    "T-102": {
        "brokerage": "0.00",
        "stt": "0.00",
        "exchange_transaction": "1.78",
        "sebi_fee": "0.06",
        "stamp_duty": "1.80",
        "gst": "0.33",
        "total": "3.97",
    },
    "T-201": {
        "brokerage": "20.00",
        "stt": "37.76",
        "exchange_transaction": "4.49",
        "sebi_fee": "0.15",
        "stamp_duty": "0.00",
        "gst": "4.44",
        "total": "66.84",
    },
    "T-301": {
        "brokerage": "0.00",
        "stt": "34.57",
        "exchange_transaction": "1.03",
        "sebi_fee": "0.03",
        "stamp_duty": "5.19",
        "gst": "0.19",
        "total": "41.01",
    },
}


def test_hand_figures_from_the_rates():
    """The hand figures above, from the rate constants, step by step."""
    t101 = D(60) * D("1500.00")
    assert min(paisa(DISCOUNT_MIS_RATE * t101), DISCOUNT_MIS_CAP) == D("20.00")
    exch, sebi = paisa(t101 * EXCHANGE_TXN), paisa(t101 * SEBI_FEE)
    assert (exch, sebi, paisa(t101 * STAMP_MIS_BUY)) == (D("2.67"), D("0.09"), D("2.70"))
    assert paisa(GST * (D("20.00") + exch + sebi)) == D("4.10")
    t201 = D(100) * D("1510.25")
    assert paisa(t201 * STT_MIS_SELL) == D("37.76")
    assert paisa(GST * (D("20.00") + paisa(t201 * EXCHANGE_TXN) + paisa(t201 * SEBI_FEE))) == D(
        "4.44"
    )
    t301 = D(10) * D("3456.70")
    assert (paisa(t301 * STT_CNC), paisa(t301 * STAMP_CNC_BUY)) == (D("34.57"), D("5.19"))
    for figures in HAND.values():
        parts = [D(v) for k, v in figures.items() if k != "total"]
        assert sum(parts) == D(figures["total"])


def test_the_engine_stores_the_hand_figures():
    for fill in engine_fills():
        assert fill.charges == HAND[fill.trade_number], fill.trade_number


def build(client: NoteClient = SAME_STATE, fills: list[FillFigures] | None = None):
    return contract_note_build(
        number="CN-2026-000123",
        trade_date=DAY,
        settlement_number="2026234",
        broker=BROKER,
        client=client,
        fills=engine_fills() if fills is None else fills,
        generated_at=datetime(2026, 12, 2, 18, 30, tzinfo=IST),
    )


def test_trades_in_time_order_with_per_unit_brokerage_and_net_rates():
    note = build()
    got = [
        (t.trade_number, t.side, t.product, t.quantity, t.gross_rate, t.brokerage_per_unit,
         t.net_rate, t.net_total)
        for t in note.trades
    ]  # fmt: skip
    # T-101: 20.00 / 60 = 0.33333.. -> 0.3333; a buy adds it: 1500.3333; 90000 + 20 = 90020.00
    # T-201: 20.00 / 100 = 0.2000; a sell takes it off: 1510.0500; 151025 - 20 = 151005.00
    assert got == [
        ("T-101", "BUY", "MIS", 60, D("1500.00"), D("0.3333"), D("1500.3333"), D("90020.00")),
        ("T-102", "BUY", "MIS", 40, D("1500.50"), D("0.0000"), D("1500.5000"), D("60020.00")),
        ("T-301", "BUY", "CNC", 10, D("3456.70"), D("0.0000"), D("3456.7000"), D("34567.00")),
        ("T-201", "SELL", "MIS", 100, D("1510.25"), D("0.2000"), D("1510.0500"), D("151005.00")),
    ]


def test_obligation_intra_state_splits_gst_into_cgst_and_sgst():
    ob = build(SAME_STATE).obligation
    # Sums of the hand figures per charge over the four fills.
    assert ob.brokerage == D("20.00") + D("0.00") + D("20.00") + D("0.00") == D("40.00")
    assert ob.stt == D("37.76") + D("34.57") == D("72.33")
    assert ob.exchange_transaction == D("2.67") + D("1.78") + D("4.49") + D("1.03") == D("9.97")
    assert ob.sebi_fee == D("0.09") + D("0.06") + D("0.15") + D("0.03") == D("0.33")
    assert ob.stamp_duty == D("2.70") + D("1.80") + D("5.19") == D("9.69")
    gst = D("4.10") + D("0.33") + D("4.44") + D("0.19")
    assert gst == D("9.06")
    assert (ob.cgst, ob.sgst, ob.igst) == (D("4.53"), D("4.53"), D("0.00"))
    assert ob.charges_total == D("29.56") + D("3.97") + D("66.84") + D("41.01") == D("141.38")
    # Sold 151025.00, bought 90000.00 + 60020.00 + 34567.00 = 184587.00, less 141.38 charges.
    assert ob.payable_by_client is True
    assert ob.net_amount == D("184587.00") - D("151025.00") + D("141.38") == D("33703.38")


def test_obligation_inter_state_is_igst():
    ob = build(OTHER_STATE).obligation
    assert (ob.cgst, ob.sgst, ob.igst) == (D("0.00"), D("0.00"), D("9.06"))
    assert ob.net_amount == D("33703.38")


def test_an_odd_paisa_of_gst_goes_to_sgst():
    fills = engine_fills()[:1]
    fills[0] = replace_charges(fills[0], gst="4.11", total="29.57")
    ob = build(fills=fills).obligation
    assert (ob.cgst, ob.sgst) == (D("2.06"), D("2.05"))


def test_a_net_credit_is_receivable_by_the_client():
    sell = [f for f in engine_fills() if f.side == "SELL"]
    ob = build(fills=sell).obligation
    assert ob.payable_by_client is False
    assert ob.net_amount == D("151025.00") - D("66.84") == D("150958.16")


def replace_charges(fill: FillFigures, **changes: str) -> FillFigures:
    from dataclasses import replace

    return replace(fill, charges={**fill.charges, **changes})


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="at least one fill"):
        build(fills=[])
    fills = engine_fills()
    from dataclasses import replace

    fills[2] = replace(fills[2], trade_date=date(2026, 12, 1))
    with pytest.raises(ValueError, match=r"mixed trade dates: .* fills are of 2026-12-01"):
        build(fills=fills)
    fills = engine_fills()
    fills[1] = replace_charges(fills[1], gst="0.34")
    with pytest.raises(ValueError, match="fill T-102: charges do not add up to their total"):
        build(fills=fills)
    fills = engine_fills()
    fills[0] = replace(fills[0], charges={"brokerage": "20.00"})
    with pytest.raises(ValueError, match="fill T-101: charges lack stt"):
        build(fills=fills)
    fills = engine_fills()
    fills[0] = replace(fills[0], side="SHORT")
    with pytest.raises(ValueError, match="fill T-101: side must be BUY or SELL"):
        build(fills=fills)


def test_csv_reads_back_to_the_same_figures():
    note = build()
    rows = list(csv.DictReader(io.StringIO(contract_note_csv(note).decode("utf-8"))))
    trades = [r for r in rows if r["record"] == "TRADE"]
    assert [
        (r["trade_number"], r["side"], int(r["quantity"]), D(r["net_rate"]), D(r["net_total"]))
        for r in trades
    ] == [(t.trade_number, t.side, t.quantity, t.net_rate, t.net_total) for t in note.trades]
    assert trades[0]["order_time"] == "2026-12-02T09:20:00+05:30"
    obligation = {r["item"]: D(r["amount"]) for r in rows if r["record"] == "OBLIGATION"}
    assert obligation == {
        "stt": D("72.33"), "exchange_transaction": D("9.97"), "sebi_fee": D("0.33"),
        "stamp_duty": D("9.69"), "cgst": D("4.53"), "sgst": D("4.53"), "igst": D("0.00"),
        "brokerage": D("40.00"), "net_amount": D("33703.38"),
    }  # fmt: skip
    assert rows[-1]["side"] == "PAYABLE"


def test_json_reads_back_to_the_same_figures():
    note = build(OTHER_STATE)
    data = json.loads(contract_note_json(note))
    assert data["number"] == "CN-2026-000123"
    assert data["trade_date"] == "2026-12-02"
    assert data["client"]["ucc"] == "TS00077"
    assert [D(t["net_total"]) for t in data["trades"]] == [t.net_total for t in note.trades]
    assert data["trades"][0]["brokerage_per_unit"] == "0.3333"
    assert data["obligation"]["igst"] == "9.06"
    assert data["obligation"]["net_amount"] == "33703.38"
    assert data["obligation"]["direction"] == "PAYABLE"


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    directory = tmp_path_factory.mktemp("signer")
    return directory, contract_note_pdf(build(), signer=demo_signer(directory))


def pdf_lines(content: bytes) -> list[str]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(content))
    return [
        line.strip()
        for page in reader.pages
        for line in page.extract_text().splitlines()
        if line.strip()
    ]


def test_pdf_text_has_the_key_figures(signed):
    _, content = signed
    lines = pdf_lines(content)
    for expected in [
        "Contract Note cum Tax Invoice",
        "INZ000123456",  # SEBI reg. no.
        "90123",  # trading member code
        "Meera Iyer",  # compliance officer
        "CN-2026-000123",
        "02-12-2026",
        "2026234",  # settlement no.
        "TS00042",  # UCC
        "ABCPP1234K",  # PAN
        "Page 1 of 1",
    ]:
        assert expected in lines, expected
    # Each trade's row, cell by cell, in time order.
    t101 = lines.index("T-101")
    assert lines[t101 - 2 : t101 + 11] == [
        "ORD-1", "09:20:00", "T-101", "09:20:05", "INFY (MIS)", "INE009A01021", "B", "60",
        "1,500.00", "0.3333", "1500.3333", "90,020.00", "ORD-1",
    ]  # fmt: skip
    t201 = lines.index("T-201")
    assert lines[t201 + 2 : t201 + 10] == [
        "INFY (MIS)", "INE009A01021", "S", "100", "1,510.25", "0.2000", "1510.0500", "1,51,005.00",
    ]  # fmt: skip
    t301 = lines.index("T-301")
    assert lines[t301 + 4 : t301 + 10] == [
        "B",
        "10",
        "3,456.70",
        "0.0000",
        "3456.7000",
        "34,567.00",
    ]
    start = lines.index("Obligation (rupees)")
    assert lines[start + 1 : start + 19] == [
        "Brokerage", "40.00",
        "Securities transaction tax (STT)", "72.33",
        "Exchange transaction charge", "9.97",
        "SEBI turnover fee", "0.33",
        "Stamp duty", "9.69",
        "CGST (9 %)", "4.53",
        "SGST (9 %)", "4.53",
        "IGST (18 %)", "0.00",
        "Net amount payable by client", "33,703.38",
    ]  # fmt: skip


def validate(content: bytes, directory):
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    trust = load_cert_from_pemder(str(directory / "demo-contract-notes.crt"))
    reader = PdfFileReader(io.BytesIO(content))
    (signature,) = reader.embedded_signatures
    return validate_pdf_signature(signature, ValidationContext(trust_roots=[trust]))


def test_the_signature_validates_and_a_changed_byte_does_not(signed):
    directory, content = signed
    status = validate(content, directory)
    assert status.intact
    assert status.valid
    assert status.trusted
    assert status.signing_cert.subject.native["common_name"] == "TradingSite Demo Contract Notes"
    # One byte of the signed revision (the document title) changed: no longer intact.
    title = b"/Title (Contract note CN-2026-000123)"
    assert content.count(title) == 1
    assert content.index(title) < content.index(b"/ByteRange")
    tampered = content.replace(title, title.replace(b"000123", b"000124"))
    assert len(tampered) == len(content)
    status = validate(tampered, directory)
    assert not status.intact
    assert not status.bottom_line


def test_without_a_signer_the_pdf_is_unsigned():
    content = contract_note_pdf(build(OTHER_STATE))
    assert b"/ByteRange" not in content
    lines = pdf_lines(content)
    start = lines.index("IGST (18 %)")
    assert lines[start + 1] == "9.06"
    assert lines[lines.index("CGST (9 %)") + 1] == "0.00"
    assert contract_note_pdf(build(OTHER_STATE)) == content  # deterministic


def test_the_demo_signer_is_made_once_and_reused(tmp_path):
    first = demo_signer(tmp_path)
    crt = (tmp_path / "demo-contract-notes.crt").read_bytes()
    second = demo_signer(tmp_path)
    assert (tmp_path / "demo-contract-notes.crt").read_bytes() == crt
    assert first.signing_cert.dump() == second.signing_cert.dump()


def test_a_long_day_runs_onto_more_pages_each_numbered(tmp_path):
    from dataclasses import replace

    (first, *_) = engine_fills()
    fills = [
        replace(first, trade_number=f"T-{n:04d}", trade_time=at(f"11:{n // 60:02d}:{n % 60:02d}"))
        for n in range(60)
    ]
    content = contract_note_pdf(build(fills=fills))
    lines = pdf_lines(content)
    total = sum(1 for line in lines if line.startswith("Page "))
    assert [line for line in lines if line.startswith("Page ")] == [
        f"Page {n} of {total}" for n in range(1, total + 1)
    ]
    assert total > 1
    assert lines.count("T-0059") == 1
    assert "Net amount payable by client" in lines
