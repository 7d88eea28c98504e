"""The charges engine: worked examples to the paisa, table validation, and properties.

Every expected figure in the worked examples was computed by hand in the comment above it
from the rates in orders/data/*.csv; the code is only checked against those figures.
"""

import re
from dataclasses import replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orders.charges import (
    BROKERAGE_PLANS_CSV,
    CHARGE_RATES_CSV,
    CHARGES,
    PRODUCTS,
    SIDES,
    BrokeragePlan,
    ChargeBreakdown,
    RateTableError,
    charges_for_fill,
    load_brokerage_plans,
    load_charge_rates,
    plan_in_force,
    rates_in_force,
)

RATES = load_charge_rates(CHARGE_RATES_CSV)
PLANS = load_brokerage_plans(BROKERAGE_PLANS_CSV)
DAY = date(2026, 11, 20)
PAISA = Decimal("0.01")
RATE_HEADER = "charge,exchange,product,side,rate,basis,effective_from,effective_to,note\n"
PLAN_HEADER = "code,name,product,rate,cap_per_order,minimum_per_order,effective_from,effective_to\n"


def fill(**overrides) -> ChargeBreakdown:
    arguments = {
        "rates": RATES,
        "plans": PLANS,
        "plan_code": "DISCOUNT",
        "trade_date": DAY,
        "exchange": "NSE",
        "product": "CNC",
        "side": "BUY",
        "quantity": 1,
        "price": Decimal("100.00"),
    }
    return charges_for_fill(**{**arguments, **overrides})


def figures(breakdown: ChargeBreakdown) -> dict[str, str]:
    return breakdown.as_dict()


# --- worked examples -----------------------------------------------------------------------


def test_cnc_buy_under_discount():
    # 10 INFY at 1500.00, CNC buy, 2026-11-20, DISCOUNT. turnover = 15000.00
    # brokerage: DISCOUNT CNC rate 0                      -> 0.00
    # STT 0.1 %:          0.001     x 15000 = 15.00       -> 15.00
    # NSE txn 0.00297 %:  0.0000297 x 15000 = 0.4455      -> 0.45
    # SEBI Rs 10/crore:   0.000001  x 15000 = 0.015       -> 0.02 (half up)
    # stamp 0.015 %:      0.00015   x 15000 = 2.25        -> 2.25
    # GST 18 % of (0.00 + 0.45 + 0.02 = 0.47) = 0.0846    -> 0.08
    # total 0.00 + 15.00 + 0.45 + 0.02 + 2.25 + 0.08      =  17.80
    breakdown = fill(quantity=10, price=Decimal("1500.00"))
    assert figures(breakdown) == {
        "brokerage": "0.00",
        "stt": "15.00",
        "exchange_transaction": "0.45",
        "sebi_fee": "0.02",
        "stamp_duty": "2.25",
        "gst": "0.08",
        "total": "17.80",
    }
    assert breakdown.total == Decimal("17.80")


def test_mis_sell_under_the_cap():
    # 50 at 120.35, MIS sell, DISCOUNT. turnover = 6017.50
    # brokerage 0.03 %:   0.0003    x 6017.50 = 1.80525    -> 1.81 (cap 20 not reached)
    # STT 0.025 % sell:   0.00025   x 6017.50 = 1.504375   -> 1.50
    # NSE txn:            0.0000297 x 6017.50 = 0.17871975 -> 0.18
    # SEBI:               0.000001  x 6017.50 = 0.0060175  -> 0.01
    # stamp: none on a sell                                -> 0.00
    # GST 18 % of (1.81 + 0.18 + 0.01 = 2.00) = 0.36       -> 0.36
    # total 1.81 + 1.50 + 0.18 + 0.01 + 0.00 + 0.36        =  3.86
    breakdown = fill(product="MIS", side="SELL", quantity=50, price=Decimal("120.35"))
    assert figures(breakdown) == {
        "brokerage": "1.81",
        "stt": "1.50",
        "exchange_transaction": "0.18",
        "sebi_fee": "0.01",
        "stamp_duty": "0.00",
        "gst": "0.36",
        "total": "3.86",
    }


def test_mis_sell_capped_at_20():
    # 200 RELIANCE at 2950.50, MIS sell, DISCOUNT. turnover = 590100.00
    # brokerage: 0.0003 x 590100 = 177.03, capped at 20    -> 20.00
    # STT:     0.00025   x 590100 = 147.525                -> 147.53
    # NSE txn: 0.0000297 x 590100 = 17.52597               -> 17.53
    # SEBI:    0.000001  x 590100 = 0.5901                 -> 0.59
    # stamp: none on a sell                                -> 0.00
    # GST 18 % of (20.00 + 17.53 + 0.59 = 38.12) = 6.8616  -> 6.86
    # total 20.00 + 147.53 + 17.53 + 0.59 + 0.00 + 6.86    =  192.51
    breakdown = fill(product="MIS", side="SELL", quantity=200, price=Decimal("2950.50"))
    assert figures(breakdown) == {
        "brokerage": "20.00",
        "stt": "147.53",
        "exchange_transaction": "17.53",
        "sebi_fee": "0.59",
        "stamp_duty": "0.00",
        "gst": "6.86",
        "total": "192.51",
    }


def test_partial_fills_reach_the_cap_on_the_third_fill():
    # One MIS buy order under FLAT20 (0.03 %, at most Rs 20 per order), filled four times.
    # fill 1: 10 at 2500.00 = 25000.00; 0.0003 x 25000.00 = 7.50, room 20.00  -> 7.50
    #   txn 0.7425 -> 0.74; SEBI 0.025 -> 0.03; stamp 0.00003 x 25000 = 0.75;
    #   GST 18 % of (7.50 + 0.74 + 0.03 = 8.27) = 1.4886 -> 1.49; total 10.51
    # fill 2: 8 at 2500.05 = 20000.40; 6.00012 -> 6.00, room 12.50           -> 6.00
    #   txn 0.59401188 -> 0.59; SEBI 0.0200004 -> 0.02; stamp 0.600012 -> 0.60;
    #   GST 18 % of 6.61 = 1.1898 -> 1.19; total 8.40
    # fill 3: 12 at 2499.95 = 29999.40; 8.99982 but room 20 - 13.50 = 6.50   -> 6.50 (cap hit)
    #   txn 0.89098218 -> 0.89; SEBI 0.0299994 -> 0.03; stamp 0.899982 -> 0.90;
    #   GST 18 % of (6.50 + 0.89 + 0.03 = 7.42) = 1.3356 -> 1.34; total 9.66
    # fill 4: 5 at 2500.00 = 12500.00; 3.75 but room 0.00                     -> 0.00
    #   txn 0.37125 -> 0.37; SEBI 0.0125 -> 0.01; stamp 0.375 -> 0.38;
    #   GST 18 % of 0.38 = 0.0684 -> 0.07; total 0.83
    fills = [(10, "2500.00"), (8, "2500.05"), (12, "2499.95"), (5, "2500.00")]
    expected = [
        {"brokerage": "7.50", "exchange_transaction": "0.74", "sebi_fee": "0.03",
         "stamp_duty": "0.75", "gst": "1.49", "total": "10.51"},
        {"brokerage": "6.00", "exchange_transaction": "0.59", "sebi_fee": "0.02",
         "stamp_duty": "0.60", "gst": "1.19", "total": "8.40"},
        {"brokerage": "6.50", "exchange_transaction": "0.89", "sebi_fee": "0.03",
         "stamp_duty": "0.90", "gst": "1.34", "total": "9.66"},
        {"brokerage": "0.00", "exchange_transaction": "0.37", "sebi_fee": "0.01",
         "stamp_duty": "0.38", "gst": "0.07", "total": "0.83"},
    ]  # fmt: skip
    already = Decimal(0)
    for (quantity, price), want in zip(fills, expected, strict=True):
        breakdown = fill(
            plan_code="FLAT20",
            product="MIS",
            side="BUY",
            quantity=quantity,
            price=Decimal(price),
            brokerage_already_charged=already,
        )
        assert figures(breakdown) == {**want, "stt": "0.00"}  # no STT on an intraday buy
        already += breakdown.brokerage
    assert already == Decimal("20.00")


def test_brokerage_minimum_applies_once_on_the_first_fill():
    # A plan of 0.03 % with a Rs 5 minimum and a Rs 20 cap; a CNC buy of 100.00 per fill.
    # first fill: 0.0003 x 100 = 0.03, raised to the minimum    -> 5.00
    # second fill: 0.03 (the minimum is not charged again)       -> 0.03
    plans = load_brokerage_plans(PLAN_HEADER + "MIN5,Minimum five,*,0.0003,20,5,2020-01-01,\n")
    first = fill(plans=plans, plan_code="MIN5")
    second = fill(plans=plans, plan_code="MIN5", brokerage_already_charged=first.brokerage)
    assert (first.brokerage, second.brokerage) == (Decimal("5.00"), Decimal("0.03"))


def test_transaction_charge_switches_on_2024_10_01():
    # 100 at 1000.00, CNC sell, DISCOUNT. turnover = 100000.00
    # 2024-09-30: txn 0.0000322 x 100000 = 3.22; STT 100.00; SEBI 0.10; stamp 0.00;
    #   GST 18 % of (0.00 + 3.22 + 0.10 = 3.32) = 0.5976 -> 0.60; total 103.92
    # 2024-10-01: txn 0.0000297 x 100000 = 2.97; STT 100.00; SEBI 0.10; stamp 0.00;
    #   GST 18 % of (0.00 + 2.97 + 0.10 = 3.07) = 0.5526 -> 0.55; total 103.62
    before = fill(trade_date=date(2024, 9, 30), side="SELL", quantity=100, price=Decimal("1000"))
    after = fill(trade_date=date(2024, 10, 1), side="SELL", quantity=100, price=Decimal("1000"))
    assert figures(before) == {
        "brokerage": "0.00",
        "stt": "100.00",
        "exchange_transaction": "3.22",
        "sebi_fee": "0.10",
        "stamp_duty": "0.00",
        "gst": "0.60",
        "total": "103.92",
    }
    assert figures(after) == {
        "brokerage": "0.00",
        "stt": "100.00",
        "exchange_transaction": "2.97",
        "sebi_fee": "0.10",
        "stamp_duty": "0.00",
        "gst": "0.55",
        "total": "103.62",
    }


def test_gst_is_on_the_rounded_components_and_halves_round_up():
    # 7 at 1500.00, MIS buy, FLAT20. turnover = 10500.00
    # brokerage 0.0003 x 10500 = 3.15; STT none on an intraday buy -> 0.00
    # txn 0.0000297 x 10500 = 0.31185 -> 0.31; SEBI 0.0105 -> 0.01
    # stamp 0.00003 x 10500 = 0.315 -> 0.32 (exactly half a paisa, rounded up)
    # GST 18 % of the rounded (3.15 + 0.31 + 0.01 = 3.47) = 0.6246 -> 0.62
    #   (on the unrounded 3.47235 it would be 0.625023 -> 0.63: the house convention matters)
    # total 3.15 + 0.00 + 0.31 + 0.01 + 0.32 + 0.62 = 4.41
    breakdown = fill(plan_code="FLAT20", product="MIS", quantity=7, price=Decimal("1500.00"))
    assert figures(breakdown) == {
        "brokerage": "3.15",
        "stt": "0.00",
        "exchange_transaction": "0.31",
        "sebi_fee": "0.01",
        "stamp_duty": "0.32",
        "gst": "0.62",
        "total": "4.41",
    }


@pytest.mark.parametrize(
    ("overrides", "component", "expected"),
    [
        # CNC buy 1 at 25.00: STT 0.001 x 25 = 0.025 -> 0.03 (half-even would give 0.02)
        ({"price": Decimal("25.00")}, "stt", "0.03"),
        # CNC buy 1 at 25000.00: SEBI 0.000001 x 25000 = 0.025 -> 0.03
        ({"price": Decimal("25000.00")}, "sebi_fee", "0.03"),
        # CNC buy 1 at 5000.00: SEBI 0.005 -> 0.01 (half-even would give 0.00)
        ({"price": Decimal("5000.00")}, "sebi_fee", "0.01"),
        # CNC buy 1 at 100.00: stamp 0.00015 x 100 = 0.015 -> 0.02
        ({"price": Decimal("100.00")}, "stamp_duty", "0.02"),
        # CNC buy 1 at 99.95: stamp 0.00015 x 99.95 = 0.0149925 -> 0.01 (just under half)
        ({"price": Decimal("99.95")}, "stamp_duty", "0.01"),
    ],
)
def test_exactly_half_a_paisa_rounds_up(overrides, component, expected):
    assert figures(fill(**overrides))[component] == expected


def test_gst_at_exactly_half_a_paisa_rounds_up():
    # A table where only brokerage and GST are non-zero: 0.25 % brokerage on 100.00 = 0.25;
    # GST 18 % of 0.25 = 0.045 -> 0.05 (half-even would give 0.04). total 0.30
    rates = load_charge_rates(
        RATE_HEADER
        + "stt,*,*,*,0,turnover,2020-01-01,,\n"
        + "exchange_transaction,*,*,*,0,turnover,2020-01-01,,\n"
        + "sebi_fee,*,*,*,0,turnover,2020-01-01,,\n"
        + "stamp_duty,*,*,*,0,turnover,2020-01-01,,\n"
        + "gst,*,*,*,0.18,gst_base,2020-01-01,,\n"
    )
    plans = load_brokerage_plans(PLAN_HEADER + "QUARTER,Quarter,*,0.0025,,0,2020-01-01,\n")
    breakdown = fill(rates=rates, plans=plans, plan_code="QUARTER")
    assert (breakdown.brokerage, breakdown.gst, breakdown.total) == (
        Decimal("0.25"),
        Decimal("0.05"),
        Decimal("0.30"),
    )


def test_nrml_is_charged_like_cnc():
    for side in SIDES:
        assert fill(product="NRML", side=side, quantity=13, price=Decimal("777.70")) == fill(
            product="CNC", side=side, quantity=13, price=Decimal("777.70")
        )


def test_zero_plan_charges_no_brokerage():
    breakdown = fill(
        plan_code="ZERO", product="MIS", side="SELL", quantity=1000, price=Decimal(900)
    )
    assert breakdown.brokerage == Decimal("0.00")


def test_as_dict_has_every_component_and_the_total_with_two_places():
    breakdown = ChargeBreakdown(*(Decimal(n) for n in ("1", "2.5", "0.125", "0", "3.10", "0.01")))
    assert breakdown.as_dict() == {
        "brokerage": "1.00",
        "stt": "2.50",
        "exchange_transaction": "0.13",
        "sebi_fee": "0.00",
        "stamp_duty": "3.10",
        "gst": "0.01",
        "total": "6.74",
    }


# --- the most specific row -----------------------------------------------------------------

SPECIFIC = (
    RATE_HEADER
    + "stt,*,*,*,0.1,turnover,2020-01-01,,line 2: anything\n"
    + "stt,NSE,*,*,0.2,turnover,2020-01-01,,line 3: NSE\n"
    + "stt,NSE,CNC,*,0.3,turnover,2020-01-01,,line 4: NSE CNC\n"
    + "stt,NSE,CNC,BUY,0.4,turnover,2020-01-01,2024-12-31,line 5: NSE CNC BUY until 2024\n"
    + "stt,*,MIS,*,0.5,turnover,2020-01-01,,line 6: MIS anywhere\n"
)


@pytest.mark.parametrize(
    ("on", "exchange", "product", "side", "rate"),
    [
        (date(2024, 12, 31), "NSE", "CNC", "BUY", "0.4"),  # three exact fields
        (date(2025, 1, 1), "NSE", "CNC", "BUY", "0.3"),  # line 5 has ended: two exact fields
        (date(2024, 1, 1), "NSE", "CNC", "SELL", "0.3"),
        (date(2024, 1, 1), "NSE", "NRML", "SELL", "0.2"),
        (date(2024, 1, 1), "BSE", "NRML", "BUY", "0.1"),
        (date(2024, 1, 1), "BSE", "MIS", "SELL", "0.5"),
    ],
)
def test_the_most_specific_row_wins(on, exchange, product, side, rate):
    found = rates_in_force(
        load_charge_rates(SPECIFIC), on=on, exchange=exchange, product=product, side=side
    )
    assert set(found) == {"stt"}  # charges without a row are absent, not zero
    assert found["stt"].rate == Decimal(rate)


def test_equally_specific_rows_in_force_together_are_an_error():
    # Lines 3 and 6 (NSE/*/* and */MIS/*) both have one exact field and both match NSE MIS.
    with pytest.raises(RateTableError, match=r"2 equally specific stt rows apply to NSE/MIS/SELL"):
        rates_in_force(
            load_charge_rates(SPECIFIC), on=date(2024, 1, 1), exchange="NSE", product="MIS",
            side="SELL",
        )  # fmt: skip


def test_a_more_specific_row_breaks_a_tie():
    rates = load_charge_rates(SPECIFIC + "stt,NSE,MIS,*,0.6,turnover,2020-01-01,,\n")
    found = rates_in_force(rates, on=DAY, exchange="NSE", product="MIS", side="SELL")
    assert found["stt"].rate == Decimal("0.6")


def test_plan_row_for_the_exact_product_beats_star():
    plans = load_brokerage_plans(
        PLAN_HEADER
        + "MIXED,Mixed,*,0.0003,20,0,2020-01-01,\n"
        + "MIXED,Mixed,CNC,0.001,,0,2020-01-01,\n"
    )
    assert plan_in_force(plans, code="MIXED", on=DAY, product="CNC").rate == Decimal("0.001")
    assert plan_in_force(plans, code="MIXED", on=DAY, product="MIS").rate == Decimal("0.0003")


# --- the shipped tables --------------------------------------------------------------------


def test_the_shipped_tables_load_from_their_paths():
    assert {rate.charge for rate in RATES} == set(CHARGES)
    assert {plan.code for plan in PLANS} == {"DISCOUNT", "FLAT20", "ZERO"}
    text = Path(CHARGE_RATES_CSV).read_text(encoding="utf-8")
    assert load_charge_rates(text) == RATES  # the text itself loads the same


@pytest.mark.parametrize(
    "on",
    [date(2021, 1, 1), date(2021, 3, 31), date(2021, 4, 1), date(2024, 9, 30),
     date(2024, 10, 1), DAY],
)  # fmt: skip
def test_the_shipped_tables_cover_every_product_and_side_from_2021(on):
    for product in PRODUCTS:
        for side in SIDES:
            found = rates_in_force(RATES, on=on, exchange="NSE", product=product, side=side)
            assert set(found) == set(CHARGES), (on, product, side)
            for code in ("DISCOUNT", "FLAT20", "ZERO"):
                plan_in_force(PLANS, code=code, on=on, product=product)


# --- table validation, with line numbers ---------------------------------------------------

GOOD_RATE = "gst,*,*,*,0.18,gst_base,2017-07-01,,fine\n"


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        ("stty,*,*,*,0.001,turnover,2020-01-01,,", "unknown charge 'stty' (expected one of: stt, "),
        ("stt,NSE,*,*,0.1%,turnover,2020-01-01,,", "rate '0.1%' is not a decimal number"),
        ("stt,NSE,*,*,abc,turnover,2020-01-01,,", "rate 'abc' is not a decimal number"),
        ("stt,NSE,*,*,1e-3,turnover,2020-01-01,,", "rate '1e-3' is not a decimal number"),
        ("stt,NSE,*,*,,turnover,2020-01-01,,", "rate is empty"),
        ("stt,NSE,*,*,-0.001,turnover,2020-01-01,,", "rate -0.001 is negative"),
        ("gst,*,*,*,18,gst_base,2020-01-01,,", "rate 18 is more than 1"),
        (
            "stt,NSE,*,*,0.001,turnover,2021-01-01,2020-12-31,",
            "effective_to 2020-12-31 is before effective_from 2021-01-01",
        ),
        (
            "stt,NSE,*,*,0.001,notional,2020-01-01,,",
            "unknown basis 'notional' (expected one of: turnover, gst_base)",
        ),
        (
            "stt,NSE,*,*,0.001,gst_base,2020-01-01,,",
            "stt is charged on basis 'turnover', not 'gst_base'",
        ),
        (
            "gst,*,*,*,0.18,turnover,2020-01-01,,",
            "gst is charged on basis 'gst_base', not 'turnover'",
        ),
        (
            "stt,NSE,*,*,0.001,turnover,01/01/2020,,",
            "effective_from '01/01/2020' is not a date (YYYY-MM-DD)",
        ),
        ("stt,NSE,*,*,0.001,turnover,2020-02-30,,", "effective_from '2020-02-30' is not a date"),
        ("stt,NSE,*,*,0.001,turnover,,,", "effective_from is empty"),
        ("stt,MCX,*,*,0.001,turnover,2020-01-01,,", "unknown exchange 'MCX'"),
        ("stt,NSE,CO,*,0.001,turnover,2020-01-01,,", "unknown product 'CO'"),
        ("stt,NSE,*,buy,0.001,turnover,2020-01-01,,", "unknown side 'buy'"),
        ("stt,NSE,*,*,0.001,turnover,2020-01-01", "7 fields where the header (line 1) has 9"),
    ],
)
def test_a_bad_charge_rate_row_is_named_by_its_line(bad_row, message):
    # line 1 header, line 2 good, line 3 blank (skipped but counted), line 4 bad, line 5 good
    text = (
        RATE_HEADER
        + GOOD_RATE
        + "\n"
        + bad_row
        + "\n"
        + "sebi_fee,*,*,*,0.000001,turnover,2020-01-01,,\n"
    )
    with pytest.raises(RateTableError) as caught:
        load_charge_rates(text)
    assert str(caught.value).startswith(f"charge_rates.csv line 4: {message}")
    assert len(caught.value.problems) == 1


def test_overlapping_periods_name_both_lines():
    text = (
        RATE_HEADER
        + "exchange_transaction,NSE,*,*,0.0000322,turnover,2021-01-01,2024-10-01,oops: one day too long\n"
        + GOOD_RATE
        + "exchange_transaction,NSE,*,*,0.0000297,turnover,2024-10-01,,\n"
    )
    with pytest.raises(RateTableError) as caught:
        load_charge_rates(text)
    assert str(caught.value) == (
        "charge_rates.csv lines 2 and 4: overlapping periods for exchange_transaction NSE/*/* "
        "(2021-01-01 to 2024-10-01 and 2024-10-01 to open)"
    )


def test_adjacent_periods_and_different_keys_do_not_overlap():
    text = (
        RATE_HEADER
        + "stt,*,CNC,*,0.001,turnover,2021-01-01,2024-09-30,\n"
        + "stt,*,CNC,*,0.002,turnover,2024-10-01,,\n"
        + "stt,*,CNC,BUY,0.003,turnover,2021-01-01,,\n"
    )
    assert len(load_charge_rates(text)) == 3


def test_every_problem_is_reported_in_line_order():
    text = (
        RATE_HEADER
        + "stt,*,*,*,-1,turnover,2020-01-01,,\n"
        + "stt,*,*,*,0.1,turnover,2019-01-01,,\n"
        + "gst,XYZ,*,*,0.18,gst_base,2020-01-01,,\n"
        + "stt,*,*,*,0.2,turnover,2020-01-01,,\n"
    )
    with pytest.raises(RateTableError) as caught:
        load_charge_rates(text)
    assert caught.value.problems == (
        "charge_rates.csv line 2: rate -1 is negative",
        "charge_rates.csv lines 3 and 5: overlapping periods for stt */*/* "
        "(2019-01-01 to open and 2020-01-01 to open)",
        "charge_rates.csv line 4: unknown exchange 'XYZ' (expected one of: NSE, BSE, *)",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "charge_rates.csv: the file is empty (no header)"),
        (RATE_HEADER, "charge_rates.csv: no rows after the header"),
        ("charge,exchange,product,side,rate,effective_from,effective_to\n" + GOOD_RATE,
         "charge_rates.csv line 1: header missing column(s): basis"),
        (RATE_HEADER.replace("note", "source,rate") + GOOD_RATE,
         "charge_rates.csv line 1: header column(s) appear more than once: rate; "
         "unknown column(s): source"),
    ],
)  # fmt: skip
def test_unusable_headers(text, message):
    with pytest.raises(RateTableError) as caught:
        load_charge_rates(text)
    assert str(caught.value) == message


def test_the_note_column_is_optional_for_rates():
    text = "charge,exchange,product,side,rate,basis,effective_from,effective_to\n"
    (gst,) = load_charge_rates(text + "gst,*,*,*,0.18,gst_base,2017-07-01,\n")
    assert gst.rate == Decimal("0.18")


def test_a_file_is_named_by_its_own_name(tmp_path):
    path = tmp_path / "rates_2026.csv"
    path.write_text(RATE_HEADER + "stt,*,*,*,x,turnover,2020-01-01,,\n", encoding="utf-8")
    with pytest.raises(RateTableError, match=r"^rates_2026\.csv line 2: rate 'x'"):
        load_charge_rates(path)


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        (
            "flat 20,Flat,*,0.0003,20,0,2020-01-01,",
            "code 'flat 20' must be upper-case letters, digits and _",
        ),
        (",Nameless,*,0.0003,20,0,2020-01-01,", "code is empty"),
        ("FLAT,,*,0.0003,20,0,2020-01-01,", "name is empty"),
        ("FLAT,Flat,BO,0.0003,20,0,2020-01-01,", "unknown product 'BO'"),
        ("FLAT,Flat,*,0.03%,20,0,2020-01-01,", "rate '0.03%' is not a decimal number"),
        ("FLAT,Flat,*,-0.0003,20,0,2020-01-01,", "rate -0.0003 is negative"),
        ("FLAT,Flat,*,0.0003,-20,0,2020-01-01,", "cap_per_order -20 is negative"),
        (
            "FLAT,Flat,*,0.0003,20.005,0,2020-01-01,",
            "cap_per_order 20.005 is not a whole number of paise",
        ),
        ("FLAT,Flat,*,0.0003,20,,2020-01-01,", "minimum_per_order is empty"),
        ("FLAT,Flat,*,0.0003,20,25,2020-01-01,", "minimum_per_order 25 is above cap_per_order 20"),
        (
            "FLAT,Flat,*,0.0003,20,0,2020-01-01,2019-12-31",
            "effective_to 2019-12-31 is before effective_from 2020-01-01",
        ),
    ],
)
def test_a_bad_brokerage_plan_row_is_named_by_its_line(bad_row, message):
    text = PLAN_HEADER + "ZERO,Zero,*,0,,0,2020-01-01,\n" + bad_row + "\n"
    with pytest.raises(RateTableError) as caught:
        load_brokerage_plans(text)
    assert str(caught.value).startswith(f"brokerage_plans.csv line 3: {message}")


def test_overlapping_plan_rows_name_both_lines():
    text = (
        PLAN_HEADER
        + "FLAT20,Flat 20,*,0.0003,20,0,2020-01-01,\n"
        + "FLAT20,Flat 20,*,0.0005,20,0,2025-01-01,\n"
    )
    with pytest.raises(RateTableError) as caught:
        load_brokerage_plans(text)
    assert str(caught.value) == (
        "brokerage_plans.csv lines 2 and 3: overlapping periods for FLAT20 * "
        "(2020-01-01 to open and 2025-01-01 to open)"
    )


# --- fill validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"quantity": 0}, "quantity must be a positive int, not 0"),
        ({"quantity": -5}, "quantity must be a positive int, not -5"),
        ({"quantity": 1.5}, "quantity must be a positive int, not 1.5"),
        ({"quantity": True}, "quantity must be a positive int, not True"),
        ({"price": Decimal(0)}, "price must be more than 0, not 0"),
        ({"price": Decimal("-1.00")}, "price must be more than 0, not -1.00"),
        ({"price": 1500.0}, "price must be a Decimal, not 1500.0"),
        ({"price": "1500"}, "price must be a Decimal, not '1500'"),
        ({"price": Decimal("NaN")}, "price must be a finite number"),
        ({"side": "buy"}, "side must be one of BUY, SELL, not 'buy'"),
        ({"side": "*"}, "side must be one of BUY, SELL, not '*'"),
        ({"product": "CO"}, "product must be one of CNC, MIS, NRML, not 'CO'"),
        ({"exchange": "MCX"}, "exchange must be one of NSE, BSE, not 'MCX'"),
        ({"trade_date": datetime(2026, 11, 20, 10, 0)}, "trade_date must be a date, not datetime"),
        ({"trade_date": "2026-11-20"}, "trade_date must be a date, not '2026-11-20'"),
        ({"brokerage_already_charged": Decimal("-0.01")}, "brokerage_already_charged must not be negative"),
    ],
)  # fmt: skip
def test_bad_fill_input_is_a_value_error(overrides, message):
    with pytest.raises(ValueError, match="^" + re.escape(message)) as caught:
        fill(**overrides)
    assert not isinstance(caught.value, RateTableError)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"plan_code": "GOLD"}, "unknown brokerage plan 'GOLD' (known: DISCOUNT, FLAT20, ZERO)"),
        ({"trade_date": date(2019, 12, 31)}, "brokerage plan 'DISCOUNT' has no row for CNC in force on 2019-12-31"),
        # The NSE transaction charge is tabulated from 2021-01-01 only.
        ({"trade_date": date(2020, 12, 31)}, "no rate in force on 2020-12-31 for NSE/CNC/BUY: exchange_transaction"),
        # ... and stamp duty from 2020-07-01: both are named.
        ({"trade_date": date(2020, 6, 30)}, "no rate in force on 2020-06-30 for NSE/CNC/BUY: exchange_transaction, stamp_duty"),
        # Only NSE's transaction charge is tabulated.
        ({"exchange": "BSE"}, "no rate in force on 2026-11-20 for BSE/CNC/BUY: exchange_transaction"),
    ],
)  # fmt: skip
def test_missing_table_rows_are_rate_table_errors(overrides, message):
    with pytest.raises(RateTableError) as caught:
        fill(**overrides)
    assert str(caught.value) == message


def test_a_plan_without_a_row_for_the_product_is_an_error():
    plans = load_brokerage_plans(PLAN_HEADER + "INTRA,Intraday only,MIS,0.0003,20,0,2020-01-01,\n")
    with pytest.raises(RateTableError, match="brokerage plan 'INTRA' has no row for CNC"):
        fill(plans=plans, plan_code="INTRA")


def test_rates_built_in_code_with_an_unsupported_basis_are_refused():
    rates = [replace(rate, basis="gst_base") if rate.charge == "stt" else rate for rate in RATES]
    with pytest.raises(RateTableError, match="has basis 'gst_base', unsupported"):
        fill(rates=rates)


def test_equal_plan_rows_built_in_code_are_refused():
    plan = BrokeragePlan(
        "TWICE", "Twice", "*", Decimal(0), None, Decimal(0), date(2020, 1, 1), None
    )
    with pytest.raises(RateTableError, match="2 equally specific rows"):
        fill(plans=[plan, plan], plan_code="TWICE")


# --- properties ----------------------------------------------------------------------------

trade_dates = st.dates(min_value=date(2021, 1, 1), max_value=date(2030, 12, 31))
prices = st.integers(min_value=1, max_value=2_000_000).map(lambda ticks: ticks * Decimal("0.05"))
quantities = st.integers(min_value=1, max_value=1_000_000)
plan_codes = st.sampled_from(["DISCOUNT", "FLAT20", "ZERO"])
products = st.sampled_from(PRODUCTS)
sides = st.sampled_from(SIDES)
paise = st.integers(min_value=0, max_value=2_500).map(lambda n: n * PAISA)
# Fills small enough that an order builds up to the Rs 20 cap over several of them.
small_fills = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=200),
        st.integers(min_value=1, max_value=40_000).map(lambda ticks: ticks * Decimal("0.05")),
    ),
    min_size=1,
    max_size=8,
)


def rounded(value: Decimal) -> Decimal:
    return value.quantize(PAISA, rounding=ROUND_HALF_UP)


@settings(max_examples=300, deadline=None)
@given(trade_dates, plan_codes, products, sides, quantities, prices, paise)
def test_components_are_non_negative_paise_and_total_is_their_sum(
    on, plan_code, product, side, quantity, price, already
):
    breakdown = fill(
        trade_date=on, plan_code=plan_code, product=product, side=side, quantity=quantity,
        price=price, brokerage_already_charged=already,
    )  # fmt: skip
    components = [getattr(breakdown, name) for name in ("brokerage", *CHARGES)]
    for value in components:
        assert value >= 0
        assert value.as_tuple().exponent == -2
    assert breakdown.total == sum(components)
    assert breakdown.total.as_tuple().exponent == -2
    # GST is 18 % of the already-rounded brokerage + transaction charge + SEBI fee.
    gst_rate = rates_in_force(RATES, on=on, exchange="NSE", product=product, side=side)["gst"]
    base = breakdown.brokerage + breakdown.exchange_transaction + breakdown.sebi_fee
    assert breakdown.gst == rounded(gst_rate.rate * base)


@settings(max_examples=300, deadline=None)
@given(
    trade_dates,
    st.sampled_from([("FLAT20", "CNC"), ("FLAT20", "MIS"), ("DISCOUNT", "MIS")]),
    sides,
    st.one_of(small_fills, st.lists(st.tuples(quantities, prices), min_size=1, max_size=8)),
)
def test_brokerage_over_any_split_of_an_order_never_exceeds_the_cap(on, plan, side, fills):
    plan_code, product = plan
    terms = plan_in_force(PLANS, code=plan_code, on=on, product=product)
    already = Decimal(0)
    uncapped = Decimal(0)
    for quantity, price in fills:
        breakdown = fill(
            trade_date=on, plan_code=plan_code, product=product, side=side, quantity=quantity,
            price=price, brokerage_already_charged=already,
        )  # fmt: skip
        already += breakdown.brokerage
        uncapped += rounded(terms.rate * quantity * price)
        assert already <= terms.cap_per_order
    # Exactly: the order pays the per-fill brokerage until the cap, and then nothing more.
    assert already == min(terms.cap_per_order, uncapped)


@settings(max_examples=300, deadline=None)
@given(trade_dates, plan_codes, products, sides, prices, paise, quantities, quantities)
def test_every_charge_is_non_decreasing_in_quantity_at_a_fixed_price(
    on, plan_code, product, side, price, already, quantity_a, quantity_b
):
    # True for every component, brokerage included: rounding half up is monotone, and the
    # cap only flattens brokerage (min with a constant), it never makes it fall. What is NOT
    # true is strict growth: charges stay flat across small steps and brokerage stops at the cap.
    small, large = sorted((quantity_a, quantity_b))
    common = {
        "trade_date": on, "plan_code": plan_code, "product": product, "side": side,
        "price": price, "brokerage_already_charged": already,
    }  # fmt: skip
    lower = fill(quantity=small, **common).as_dict()
    higher = fill(quantity=large, **common).as_dict()
    for name, value in lower.items():
        assert Decimal(value) <= Decimal(higher[name]), name


@settings(max_examples=300, deadline=None)
@given(
    trade_dates, products, sides, st.lists(st.tuples(quantities, prices), min_size=1, max_size=8)
)
def test_splitting_an_order_moves_each_statutory_charge_by_rounding_only(on, product, side, fills):
    # Per-fill rounding means the fills of an order need not add up to the charge on their
    # combined turnover, but each of the n fills and the combined figure is off by at most
    # half a paisa, so the two differ by at most (n + 1) half-paise.
    in_force = rates_in_force(RATES, on=on, exchange="NSE", product=product, side=side)
    turnover = sum((quantity * price for quantity, price in fills), Decimal(0))
    breakdowns = [
        fill(trade_date=on, plan_code="ZERO", product=product, side=side, quantity=q, price=p)
        for q, p in fills
    ]
    for charge in ("stt", "exchange_transaction", "sebi_fee", "stamp_duty"):
        split = sum(getattr(breakdown, charge) for breakdown in breakdowns)
        whole = rounded(in_force[charge].rate * turnover)
        assert abs(split - whole) <= (len(fills) + 1) * Decimal("0.005"), charge
