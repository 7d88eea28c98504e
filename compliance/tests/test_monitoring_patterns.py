"""The transaction-monitoring patterns on planted rows: each finds its planted scenario (a
true positive) and stays quiet on a near miss just under its parameters (a true
negative); the parameters are checked, every problem named."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from compliance.monitoring import patterns as p
from compliance.monitoring.rules import PARAMS, params_validate

END = datetime(2026, 12, 1, 18, 30, tzinfo=UTC)
UPPER = {"below_1l": D(100000), "1l_5l": D(500000), "5l_10l": D(1000000),
         "10l_25l": D(2500000), "25l_1cr": D(10000000), "above_1cr": D(50000000)}  # fmt: skip


def money(id, client, kind, amount, days_ago=1, *, account=None):
    return p.MoneyRow(
        id=id, account_id=account or client, client_id=client, kind=kind, amount=D(amount),
        at=END - timedelta(days=days_ago),
    )  # fmt: skip


def deposit(id, client, amount, days_ago=1, **extra):
    return money(id, client, p.DEPOSIT, amount, days_ago, **extra)


def withdrawal(id, client, amount, days_ago=1, **extra):
    return money(id, client, p.WITHDRAWAL, amount, days_ago, **extra)


def fill(id, client, quantity, price, *, instrument=1, symbol="INFY", account=None, days_ago=1):
    return p.FillRow(
        id=id, account_id=account or client, client_id=client, instrument_id=instrument,
        symbol=symbol, quantity=quantity, price=D(price), at=END - timedelta(days=days_ago),
    )  # fmt: skip


def refs(finding, kind):
    return [e["id"] for e in finding.evidence if e["kind"] == kind]


def test_rupees_are_written_in_lakhs_and_crores():
    assert p.rupees(D("123")) == "Rs 123"
    assert p.rupees(D("400000")) == "Rs 4,00,000"
    assert p.rupees(D("12345678.60")) == "Rs 1,23,45,679"
    assert p.rupees(D("-1500")) == "Rs -1,500"


# --- income mismatch -----------------------------------------------------------------------


def income(rows, incomes, pct="50"):
    return p.income_mismatch(
        rows, incomes=incomes, income_upper=UPPER, max_income_pct=D(pct), lookback_days=30
    )


def test_deposits_over_half_the_declared_income_are_found():
    rows = [deposit(1, 7, "150000"), deposit(2, 7, "110000"), withdrawal(3, 7, "20000")]
    (found,) = income(rows, {7: "1l_5l"})
    assert found.subject_key == "client:7"
    assert refs(found, "ledger") == [1, 2]  # the deposits tripped it, not the withdrawal
    assert found.score == D("52")
    assert found.detail["over"] == ["deposit"]
    assert "deposited Rs 2,60,000 (52%) of a declared annual income of at most Rs 5,00,000" in (
        found.summary
    )
    assert not found.high


def test_withdrawals_count_on_their_own_and_twice_the_limit_is_high():
    (found,) = income([withdrawal(1, 7, "100000")], {7: "below_1l"})
    assert found.detail["over"] == ["withdrawal"]
    assert found.high  # 100 % of the income: twice the 50 % limit


def test_income_just_within_the_limit_or_undeclared_is_quiet():
    at_limit = [deposit(1, 7, "250000"), withdrawal(2, 7, "250000")]
    assert income(at_limit, {7: "1l_5l"}) == []  # 50 % exactly: not over
    assert income([deposit(3, 8, "9000000")], {7: "1l_5l"}) == []  # client 8 declared nothing
    assert income([deposit(4, 7, "400000")], {7: "10l_25l"}) == []  # 16 % of Rs 25 lakh


# --- turnover against income ---------------------------------------------------------------


def turnover(rows, incomes, multiple="20"):
    return p.turnover_vs_income(
        rows, incomes=incomes, income_upper=UPPER, max_multiple=D(multiple), lookback_days=30
    )


def test_turnover_many_times_the_income_is_found():
    rows = [fill(1, 7, 1000, "1500.00"), fill(2, 7, 400, "1500.00"), fill(3, 8, 10, "1500.00")]
    (found,) = turnover(rows, {7: "below_1l", 8: "below_1l"})
    assert found.subject_key == "client:7"
    assert found.score == D("21")  # Rs 21 lakh: 21 times Rs 1 lakh
    assert refs(found, "fill") == [1, 2]
    assert "traded Rs 21,00,000 in 30 days: 21.0 times" in found.summary


def test_turnover_at_the_multiple_is_quiet():
    rows = [fill(1, 7, 1000, "1500.00"), fill(2, 7, 333, "1500.00")]  # Rs 19,99,500
    assert turnover(rows, {7: "below_1l"}) == []
    assert turnover([fill(3, 7, 2000, "1000")], {7: "below_1l"}) == []  # 20 times: not over
    assert turnover([fill(4, 9, 100000, "1000")], {}) == []  # no income declared


# --- structuring ---------------------------------------------------------------------------


def structured(rows, min_count=3):
    return p.structuring(
        rows, threshold_rupees=D(1000000), band_pct=D(10), min_count=min_count, lookback_days=7
    )


def test_deposits_just_under_the_threshold_are_found():
    rows = [deposit(1, 7, "990000"), deposit(2, 7, "950000", 2), deposit(3, 7, "900000", 3),
            deposit(4, 7, "1000000", 4), deposit(5, 7, "500000", 5)]  # fmt: skip
    (found,) = structured(rows)
    assert refs(found, "ledger") == [1, 2, 3]  # the threshold itself and far under: not
    assert found.score == 3
    assert "made 3 deposits just under Rs 10,00,000 in 7 days (Rs 28,40,000 in all)" in (
        found.summary
    )
    assert found.high  # Rs 28.4 lakh: over twice the threshold


def test_too_few_or_outside_the_band_is_quiet():
    two = [deposit(1, 7, "990000"), deposit(2, 7, "950000")]
    assert structured(two) == []
    below = [deposit(i, 7, "899999.99") for i in range(1, 6)]  # just under the band
    assert structured(below) == []
    withdrawals = [withdrawal(i, 7, "990000") for i in range(1, 6)]
    assert structured(withdrawals) == []
    spread = [deposit(1, 7, "990000"), deposit(2, 8, "990000"), deposit(3, 9, "990000")]
    assert structured(spread) == []  # three clients, one each


# --- funds through -------------------------------------------------------------------------


def through(rows, fills=()):
    return p.funds_through(
        rows, list(fills), min_amount=D(500000), withdrawal_pct=D(80), max_turnover_pct=D(10),
        lookback_days=30,
    )  # fmt: skip


def test_money_in_and_out_with_little_trading_is_found():
    rows = [deposit(1, 7, "2000000", 10), withdrawal(2, 7, "1700000", 2)]
    (found,) = through(rows, [fill(3, 7, 100, "1500")])  # Rs 1.5 lakh traded: 7.5 %
    assert found.score == D("85")
    assert refs(found, "ledger") == [1, 2]
    assert refs(found, "fill") == [3]
    assert "paid in Rs 20,00,000 and took out Rs 17,00,000 (85%) in 30 days" in found.summary
    assert not found.high
    (untraded,) = through(rows)
    assert untraded.high


@pytest.mark.parametrize(
    ("rows", "fills"),
    [
        ([deposit(1, 7, "2000000"), withdrawal(2, 7, "1599999")], []),  # under 80 % out
        (
            [deposit(1, 7, "2000000"), withdrawal(2, 7, "1900000")],
            [fill(3, 7, 1000, "200")],
        ),  # 10 % traded
        ([deposit(1, 7, "499999"), withdrawal(2, 7, "499999")], []),  # under the minimum
        ([withdrawal(2, 7, "900000")], []),  # nothing paid in
    ],
)
def test_funds_through_near_misses_are_quiet(rows, fills):
    assert through(rows, fills) == []


# --- dormant reactivated ---------------------------------------------------------------------

WINDOW_START = END - timedelta(days=7)


def dormant(rows, fills, last_active):
    return p.dormant_reactivated(
        rows, fills, last_active=last_active, window_start=WINDOW_START, dormant_days=180,
        min_amount=D(500000), lookback_days=7,
    )  # fmt: skip


def test_an_account_idle_for_months_that_trades_in_size_is_found():
    idle_since = WINDOW_START - timedelta(days=200)
    (found,) = dormant([deposit(1, 7, "100000", account=70)],
                       [fill(2, 7, 400, "1500", account=70)], {70: idle_since})  # fmt: skip
    assert found.subject_key == "account:70"
    assert (found.account_id, found.client_id) == (70, 7)
    assert found.score == 200
    assert found.detail["turnover"] == "600000"
    assert refs(found, "ledger") == [1]
    assert refs(found, "fill") == [2]
    assert "idle 200 days, was paid Rs 1,00,000 and traded Rs 6,00,000" in found.summary


def test_a_deposit_alone_in_size_reactivates_it():
    since = WINDOW_START - timedelta(days=400)
    (found,) = dormant([deposit(1, 7, "500000", account=70)], [], {70: since})
    assert found.high  # idle over twice the dormancy


def test_dormant_near_misses_are_quiet():
    recent = WINDOW_START - timedelta(days=179, hours=23)
    big = [deposit(1, 7, "900000", account=70)]
    assert dormant(big, [], {70: recent}) == []  # active a day under 180 days ago
    old = WINDOW_START - timedelta(days=365)
    small = [deposit(1, 7, "499999", account=70)], [fill(2, 7, 333, "1500", account=70)]
    assert dormant(*small, {70: old}) == []  # neither reaches Rs 5 lakh
    assert dormant(big, [], {}) == []  # opened within the window: new, not dormant
    withdrawn = [withdrawal(1, 7, "900000", account=70)]
    assert dormant(withdrawn, [], {70: old}) == []  # the rule looks at money in and trading


# --- illiquid concentration ------------------------------------------------------------------


@dataclass
class Liquid:
    asm_stage: str = ""
    gsm_stage: str = ""
    average_daily_volume: D | None = D(1_000_000)


def test_illiquid_instruments_are_those_under_surveillance_or_thin():
    found = p.illiquid_instruments(
        {1: Liquid(), 2: Liquid(asm_stage="ST-ASM-II"), 3: Liquid(gsm_stage="1"),
         4: Liquid(average_daily_volume=D(49999)), 5: Liquid(average_daily_volume=D(50000)),
         6: Liquid(average_daily_volume=None)},
        max_average_daily_volume=50000,
    )  # fmt: skip
    assert found == {2: "ASM ST-ASM-II", 3: "GSM stage 1", 4: "average daily volume 49,999 shares"}


def concentrated(fills, illiquid=None, share="50"):
    return p.illiquid_concentration(
        fills, illiquid=illiquid or {2: "ASM ST-ASM-II"}, share_pct=D(share),
        min_turnover=D(500000), lookback_days=30,
    )  # fmt: skip


def test_turnover_mostly_in_illiquid_stocks_is_found():
    fills = [fill(1, 7, 1000, "600", instrument=2, symbol="THINCO"), fill(2, 7, 100, "1500")]
    (found,) = concentrated(fills)
    assert found.subject_key == "client:7"
    assert found.score == D("80")  # Rs 6 lakh of Rs 7.5 lakh
    assert refs(found, "fill") == [1]
    assert found.instrument_id == 2
    assert found.detail["instruments"] == {"2": "ASM ST-ASM-II"}
    assert (
        "traded Rs 6,00,000 (80% of its turnover) in illiquid or surveillance stocks (THINCO)"
        in found.summary
    )


def test_illiquid_near_misses_are_quiet():
    half_less = [fill(1, 7, 1000, "600", instrument=2), fill(2, 7, 401, "1500")]
    assert concentrated(half_less) == []  # 49.94 %
    small = [fill(1, 7, 833, "600", instrument=2)]
    assert concentrated(small) == []  # Rs 4,99,800: under the minimum
    liquid = [fill(1, 7, 1000, "600", instrument=1)]
    assert concentrated(liquid) == []


# --- parameters ------------------------------------------------------------------------------


def test_every_rule_has_parameters_with_known_kinds():
    from compliance.monitoring.rules import KINDS

    assert len(PARAMS) == 6
    assert all(kind in KINDS for spec in PARAMS.values() for kind in spec.values())


def test_bad_parameters_are_each_named():
    with pytest.raises(ValidationError) as error:
        params_validate(
            "structuring",
            {"lookback_days": 0, "threshold_rupees": "lots", "band_pct": 120, "count": 3},
        )
    messages = error.value.messages
    assert "missing parameter 'min_count'" in messages
    assert any(m.startswith("unknown parameter 'count'") for m in messages)
    assert "lookback_days must be more than 0, not 0" in messages
    assert "threshold_rupees must be a number, not 'lots'" in messages
    assert "band_pct is a percentage: at most 100, not 120" in messages


def test_income_bounds_must_cover_every_range_with_rupees():
    good = {"lookback_days": 30, "max_income_pct": 150,  # a percentage that may pass 100
            "income_upper_rupees": {k: int(v) for k, v in UPPER.items()}}  # fmt: skip
    params_validate("income_mismatch", good)
    short = {**good, "income_upper_rupees": {"below_1l": 100000, "mystery": 5}}
    with pytest.raises(ValidationError, match="missing 1l_5l, 5l_10l") as error:
        params_validate("income_mismatch", short)
    assert "unknown mystery" in error.value.messages[0]
    zero = {**good, "income_upper_rupees": {**good["income_upper_rupees"], "1l_5l": 0}}
    with pytest.raises(ValidationError, match="1l_5l must be more than 0"):
        params_validate("income_mismatch", zero)
    with pytest.raises(ValidationError, match="not a monitoring rule"):
        params_validate("wash_trade", good)
    with pytest.raises(ValidationError, match="must be a JSON object"):
        params_validate("income_mismatch", [1, 2])
