"""Transaction monitoring end to end: deposits, withdrawals and fills recorded through the
order services (their times moved back where a scenario needs history) trip each rule
with its migrated default parameters; a near miss does not; the alert names its ledger
entries and fills; a second run, and the next day's, raise nothing new; the task and its
beat entry; a rule with bad stored parameters is refused, not run on defaults."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from compliance.alerts.models import Alert, AlertRule
from compliance.kyc.choices import IncomeRange
from compliance.kyc.selectors import kyc_declared_incomes
from compliance.kyc.services import kyc_approve
from compliance.models import Client
from compliance.monitoring.rules import PARAMS, params_validate
from compliance.monitoring.services import monitoring_run, window_of
from compliance.tasks import monitoring_run as monitoring_task
from marketdata.calendar import IST
from marketdata.choices import Interval
from marketdata.models import Bar, Instrument
from marketdata.selectors import instruments_liquidity
from ops.schedules import DEFAULT_SCHEDULES
from orders.choices import LedgerKind
from orders.execution import BrokerOrderState, submission_record
from orders.models import LedgerEntry, TradingAccount
from orders.selectors import accounts_last_active
from orders.services import fill_apply, funds_move, order_place
from orders.tests.fixtures import quote, request

pytestmark = pytest.mark.django_db

PANS = ["ABCPM1111A", "ABCPM2222B", "ABCPM3333C", "ABCPM4444D"]


@pytest.fixture
def desk(market):
    """Four accounts of KYC-verified clients (no money yet), INFY quoted at 1500.00."""
    accounts = []
    for number, pan in enumerate(PANS):
        client = Client.objects.create(
            name=f"Client {number}", pan=pan, kyc_status=Client.KycStatus.VERIFIED
        )
        accounts.append(TradingAccount.objects.create(code=f"TS20{number}", client=client))
    quote("INFY")
    return accounts


def now():
    return timezone.now()


def today() -> date:
    return timezone.localtime(now(), IST).date()


def move(account, kind, amount, *, days_ago: float = 0):
    """A deposit or withdrawal through ``funds_move``, posted ``days_ago``."""
    entry = funds_move(account=account, kind=kind, amount=Decimal(amount))
    if days_ago:
        LedgerEntry.objects.filter(pk=entry.pk).update(posted_at=now() - timedelta(days=days_ago))
    return entry


def deposit(account, amount, **when):
    return move(account, LedgerKind.DEPOSIT, amount, **when)


def withdraw(account, amount, **when):
    return move(account, LedgerKind.WITHDRAWAL, amount, **when)


_fills = iter(range(1, 1_000_000))


def trade(account, side, quantity, price, *, symbol="INFY", product="MIS", days_ago=0):
    order = order_place(
        account=account,
        request=request(symbol=symbol, side=side, order_type="LIMIT", product=product,
                        quantity=quantity, price=Decimal(price)),
    ).order  # fmt: skip
    assert order.status == "ACCEPTED", order.rejection_reasons
    submission_record(order_id=order.pk, state=BrokerOrderState(f"B{order.pk}", "working", 0))
    return fill_apply(
        order=order, broker_fill_id=f"M{next(_fills)}", quantity=quantity, price=Decimal(price),
        filled_at=now() - timedelta(days=days_ago) if days_ago else None,
    )  # fmt: skip


def declare(kyc_application, account, income_range):
    return kyc_application(client=account.client, income_range=income_range)


def run():
    return monitoring_run(day=today())


def alerts(code):
    return list(Alert.objects.filter(rule__code=code).order_by("id"))


def ids(alert, kind):
    return [e["id"] for e in alert.evidence if e["kind"] == kind]


def test_rules_are_migrated_with_valid_default_params():
    rules = AlertRule.objects.filter(kind=AlertRule.Kind.MONITORING)
    assert sorted(r.code for r in rules) == sorted(PARAMS)
    for rule in rules:
        params_validate(rule.code, rule.params)


def test_the_window_ends_with_the_day_in_ist():
    start, end = window_of(day=date(2026, 12, 1), lookback_days=30)
    assert end == datetime(2026, 12, 2, 0, 0, tzinfo=IST)
    assert start == datetime(2026, 11, 2, 0, 0, tzinfo=IST)


def test_income_mismatch_and_its_near_miss(desk, kyc_application):
    a, b = desk[:2]
    declare(kyc_application, a, IncomeRange.L1_5)
    declare(kyc_application, b, IncomeRange.L1_5)
    first = deposit(a, "150000", days_ago=20)
    second = deposit(a, "110000", days_ago=2)
    deposit(a, "900000", days_ago=31)  # before the window
    deposit(b, "250000", days_ago=3)  # 50 %: not over
    assert run()["income_mismatch"] == 1
    (alert,) = alerts("income_mismatch")
    assert (alert.client_id, alert.account_id) == (a.client_id, a.pk)
    assert ids(alert, "ledger") == [first.pk, second.pk]
    assert alert.detail["income_range"] == IncomeRange.L1_5
    assert alert.score == Decimal("52")
    assert alert.rule.kind == AlertRule.Kind.MONITORING


def test_declared_income_is_the_approved_applications_else_the_latest(
    desk, kyc_application, officers
):
    a, b = desk[:2]
    approved = kyc_application(client=a.client, income_range=IncomeRange.L5_10, step="verified")
    kyc_approve(application=approved, actor=officers[1])
    kyc_application(client=a.client, income_range=IncomeRange.BELOW_1L)  # a re-KYC draft
    kyc_application(client=b.client, income_range=IncomeRange.L25_1CR)
    found = kyc_declared_incomes(client_ids=[a.client_id, b.client_id, desk[2].client_id])
    assert found == {a.client_id: IncomeRange.L5_10, b.client_id: IncomeRange.L25_1CR}


def test_turnover_against_income_and_its_near_miss(desk, kyc_application):
    a, b = desk[:2]
    declare(kyc_application, a, IncomeRange.BELOW_1L)
    declare(kyc_application, b, IncomeRange.BELOW_1L)
    for account in (a, b):
        deposit(account, "100000", days_ago=40)
    fills = []
    for _ in range(4):  # 4 round trips of 175 shares: Rs 21,00,070 traded
        fills.append(trade(a, "BUY", 175, "1500.00", days_ago=5))
        fills.append(trade(a, "SELL", 175, "1500.10", days_ago=5))
    for _ in range(4):  # Rs 19,20,000: under 20 times Rs 1 lakh
        trade(b, "BUY", 160, "1500.00")
        trade(b, "SELL", 160, "1500.00")
    assert run()["turnover_vs_income"] == 1
    (alert,) = alerts("turnover_vs_income")
    assert alert.client_id == a.client_id
    assert ids(alert, "fill") == [f.pk for f in fills]
    assert alert.detail["turnover"] == "2100070.00"


def test_structuring_and_its_near_miss(desk):
    a, b = desk[:2]
    under = [deposit(a, "990000", days_ago=1), deposit(a, "950000", days_ago=3),
             deposit(a, "905000", days_ago=6)]  # fmt: skip
    deposit(a, "980000", days_ago=8)  # outside the 7 days
    deposit(b, "990000", days_ago=1)
    deposit(b, "1000000", days_ago=2)  # at the threshold: not under it
    deposit(b, "899000", days_ago=3)  # under the band
    assert run()["structuring"] == 1
    (alert,) = alerts("structuring")
    assert alert.client_id == a.client_id
    assert ids(alert, "ledger") == [e.pk for e in under]
    assert "made 3 deposits just under Rs 10,00,000 in 7 days" in alert.summary


def test_funds_through_and_its_near_miss(desk):
    a, b = desk[:2]
    paid_in = deposit(a, "2000000", days_ago=10)
    traded = trade(a, "BUY", 50, "1500.00", days_ago=5)
    trade(a, "SELL", 50, "1500.00", days_ago=5)  # Rs 1.5 lakh traded: 7.5 %
    paid_out = withdraw(a, "1700000", days_ago=1)
    deposit(b, "2000000", days_ago=10)
    withdraw(b, "1590000", days_ago=1)  # 79.5 % out
    assert run()["funds_through"] == 1
    (alert,) = alerts("funds_through")
    assert alert.client_id == a.client_id
    assert ids(alert, "ledger") == [paid_in.pk, paid_out.pk]
    assert traded.pk in ids(alert, "fill")
    assert alert.detail["withdrawals"] == "1700000.00"  # a positive sum of negative postings


def test_dormant_account_reactivated_and_its_near_miss(desk):
    a, b, c = desk[:3]
    for account, idle in ((a, 200), (b, 170)):
        deposit(account, "100000")
        TradingAccount.objects.filter(pk=account.pk).update(created_at=now() - timedelta(400))
        LedgerEntry.objects.filter(account=account).update(posted_at=now() - timedelta(idle))
    deposit(c, "900000")  # a new account: not dormant
    woke = deposit(a, "600000", days_ago=2)
    deposit(b, "600000", days_ago=2)  # idle 163 days before the window: under 180
    assert run()["dormant_reactivated"] == 1
    (alert,) = alerts("dormant_reactivated")
    assert (alert.subject_key, alert.account_id) == (f"account:{a.pk}", a.pk)
    assert ids(alert, "ledger") == [woke.pk]
    assert alert.detail["idle_days"] == 193


def test_last_active_is_the_last_fill_or_money_moved_else_the_opening(desk):
    a, b = desk[:2]
    opened = now() - timedelta(days=300)
    TradingAccount.objects.filter(pk__in=[a.pk, b.pk]).update(created_at=opened)
    deposit(a, "500000", days_ago=100)
    fill = trade(a, "BUY", 10, "1500.00", days_ago=50)
    trade(a, "SELL", 10, "1500.00", days_ago=1)  # after "before": not counted
    found = accounts_last_active(account_ids=[a.pk, b.pk, desk[2].pk], before=now() - timedelta(10))
    assert found == {a.pk: fill.filled_at, b.pk: opened}  # desk[2] was opened after it


def test_illiquid_concentration_and_its_near_miss(desk):
    a, b = desk[:2]
    Instrument.objects.filter(tradingsymbol="SMALLCAP").update(asm_stage="ST-ASM-II")
    quote("SMALLCAP", bid="1000.00", ask="1000.05", prev="1000.00")
    for account in (a, b):
        deposit(account, "3000000", days_ago=40)
    thin = [trade(a, "BUY", 400, "1000.00", symbol="SMALLCAP", product="CNC"),
            trade(a, "BUY", 400, "1000.00", symbol="SMALLCAP", product="CNC")]  # fmt: skip
    trade(a, "BUY", 100, "1500.00")  # Rs 8 lakh of Rs 9.5 lakh in ASM: 84 %
    trade(b, "BUY", 450, "1000.00", symbol="SMALLCAP", product="CNC")
    trade(b, "BUY", 300, "1500.00")  # Rs 4.5 lakh: under the minimum
    assert run()["illiquid_concentration"] == 1
    (alert,) = alerts("illiquid_concentration")
    assert alert.client_id == a.client_id
    assert ids(alert, "fill") == [f.pk for f in thin]
    assert "SMALLCAP" in alert.summary
    assert list(alert.detail["instruments"].values()) == ["ASM ST-ASM-II"]


def test_liquidity_is_the_average_of_the_day_bars_in_the_window(market):
    infy, small = market["INFY"], market["SMALLCAP"]
    start = datetime(2026, 11, 2, 3, 45, tzinfo=UTC)  # 09:15 IST
    for day, volume in enumerate((30000, 40000, 80000)):
        Bar.objects.create(instrument=infy, interval=Interval.DAY,
                           start=start + timedelta(days=day), open=1, high=1, low=1, close=1,
                           volume=volume)  # fmt: skip
    Bar.objects.create(
        instrument=infy,
        interval=Interval.DAY,
        start=start - timedelta(days=9),
        open=1,
        high=1,
        low=1,
        close=1,
        volume=1,
    )  # before the window: not counted
    found = instruments_liquidity(
        instrument_ids={infy.pk, small.pk}, start=start - timedelta(hours=1),
        end=start + timedelta(days=10),
    )  # fmt: skip
    assert found[infy.pk].average_daily_volume == 50000
    assert found[small.pk].average_daily_volume is None  # no day bars: unknown


def test_a_second_run_and_the_next_days_raise_nothing_new(desk):
    for amount, days_ago in (("990000", 1), ("950000", 2), ("960000", 3)):
        deposit(desk[0], amount, days_ago=days_ago)
    assert run()["structuring"] == 1
    assert run() == dict.fromkeys(PARAMS, 0)
    deposit(desk[0], "970000")  # still structuring, inside the alert's window
    assert monitoring_run(day=today() + timedelta(days=1))["structuring"] == 0
    assert len(alerts("structuring")) == 1
    # Once the alert's window has passed, the pattern (if it goes on) is raised again.
    later = today() + timedelta(days=8)
    with time_machine.travel(datetime.combine(later, time(12), IST), tick=False):
        for amount in ("990000", "950000", "960000"):
            deposit(desk[0], amount)
        assert monitoring_run(day=later)["structuring"] == 1


def test_a_rule_with_bad_stored_params_is_refused_not_run_on_defaults(desk):
    AlertRule.objects.filter(code="structuring").update(params={"lookback_days": -1})
    for amount in ("990000", "950000", "960000"):
        deposit(desk[0], amount)
    withdraw(desk[0], "2800000")
    with pytest.raises(ValidationError, match="structuring: missing parameter 'threshold_rupees'"):
        run()
    assert alerts("structuring") == []  # not run on defaults
    assert len(alerts("funds_through")) == 1  # the other rules ran


def test_a_disabled_rule_does_not_run(desk):
    AlertRule.objects.filter(code="structuring").update(enabled=False)
    for amount in ("990000", "950000", "960000"):
        deposit(desk[0], amount)
    assert "structuring" not in run()
    assert alerts("structuring") == []


def test_the_task_runs_today_or_the_day_asked_and_is_on_beat(desk):
    for amount in ("990000", "950000", "960000"):
        deposit(desk[0], amount)
    result = monitoring_task.apply(kwargs={"day": today().isoformat()}).get()
    assert result == {"day": today().isoformat(), "raised": {**dict.fromkeys(PARAMS, 0),
                                                            "structuring": 1}}  # fmt: skip
    assert monitoring_task.apply().get()["raised"]["structuring"] == 0
    (entry,) = [s for s in DEFAULT_SCHEDULES if s.task == "compliance.tasks.monitoring_run"]
    assert entry.crontab == "30 18 * * 1-5"
