"""Running transaction monitoring (PMLA): each enabled rule's pattern over its look-back
window of deposits, withdrawals and fills, each finding raised as an alert.

A rule's window ends at the end of the run's day (midnight IST) and reaches back its
``lookback_days``, so a second run on the same day looks at the same window and raises
nothing new. Windows of later days overlap it: while an alert of a rule on a subject
(a client, an account) covers part of the window, that rule raises nothing more on that
subject, so one pattern is one alert, not one a day for as long as it stays in the window.
Runs at the end of each weekday (``compliance.tasks.monitoring_run``).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError

from compliance.alerts.findings import Finding, findings_raise
from compliance.alerts.models import Alert, AlertRule
from compliance.monitoring import patterns, rules, selectors
from compliance.monitoring.patterns import FillRow, MoneyRow
from compliance.monitoring.rules import decimal
from marketdata.calendar import IST

Window = tuple[datetime, datetime]


def window_of(*, day: date, lookback_days: int) -> Window:
    """The ``lookback_days`` up to the end of ``day`` (IST): [start, end)."""
    end = datetime.combine(day + timedelta(days=1), time(0), IST)
    return end - timedelta(days=lookback_days), end


@dataclass(frozen=True)
class Period:
    """The deposits, withdrawals and fills of the longest look-back (loaded once per run),
    cut to each rule's window."""

    day: date
    money: list[MoneyRow]
    fills: list[FillRow]

    @classmethod
    def load(cls, *, day: date, lookback_days: int) -> "Period":
        start, end = window_of(day=day, lookback_days=lookback_days)
        return cls(
            day=day,
            money=selectors.money_rows(start=start, end=end),
            fills=selectors.fill_rows(start=start, end=end),
        )

    def cut(self, lookback_days: int) -> tuple[Window, list[MoneyRow], list[FillRow]]:
        window = window_of(day=self.day, lookback_days=lookback_days)
        start = window[0]
        return (
            window,
            [r for r in self.money if r.at >= start],
            [f for f in self.fills if f.at >= start],
        )


Run = tuple[Window, list[Finding]]


def _income_upper(p: dict) -> dict[str, Decimal]:
    return {k: Decimal(str(v)) for k, v in p["income_upper_rupees"].items()}


def _income_mismatch(period: Period, p: dict) -> Run:
    days = int(p["lookback_days"])
    window, money, _ = period.cut(days)
    incomes = selectors.declared_incomes(client_ids={r.client_id for r in money})
    return window, patterns.income_mismatch(
        money, incomes=incomes, income_upper=_income_upper(p),
        max_income_pct=decimal(p, "max_income_pct"), lookback_days=days,
    )  # fmt: skip


def _turnover_vs_income(period: Period, p: dict) -> Run:
    days = int(p["lookback_days"])
    window, _, fills = period.cut(days)
    incomes = selectors.declared_incomes(client_ids={f.client_id for f in fills})
    return window, patterns.turnover_vs_income(
        fills, incomes=incomes, income_upper=_income_upper(p),
        max_multiple=decimal(p, "max_multiple"), lookback_days=days,
    )  # fmt: skip


def _structuring(period: Period, p: dict) -> Run:
    days = int(p["lookback_days"])
    window, money, _ = period.cut(days)
    return window, patterns.structuring(
        money, threshold_rupees=decimal(p, "threshold_rupees"),
        band_pct=decimal(p, "band_pct"), min_count=int(p["min_count"]), lookback_days=days,
    )  # fmt: skip


def _funds_through(period: Period, p: dict) -> Run:
    days = int(p["lookback_days"])
    window, money, fills = period.cut(days)
    return window, patterns.funds_through(
        money, fills, min_amount=decimal(p, "min_amount"),
        withdrawal_pct=decimal(p, "withdrawal_pct"),
        max_turnover_pct=decimal(p, "max_turnover_pct"), lookback_days=days,
    )  # fmt: skip


def _dormant_reactivated(period: Period, p: dict) -> Run:
    days = int(p["lookback_days"])
    window, money, fills = period.cut(days)
    active = {r.account_id for r in money} | {f.account_id for f in fills}
    last_active = selectors.last_active(account_ids=active, before=window[0])
    return window, patterns.dormant_reactivated(
        money, fills, last_active=last_active, window_start=window[0],
        dormant_days=int(p["dormant_days"]), min_amount=decimal(p, "min_amount"),
        lookback_days=days,
    )  # fmt: skip


def _illiquid_concentration(period: Period, p: dict) -> Run:
    days = int(p["lookback_days"])
    window, _, fills = period.cut(days)
    liquidity = selectors.liquidity(
        instrument_ids={f.instrument_id for f in fills}, start=window[0], end=window[1]
    )
    illiquid = patterns.illiquid_instruments(
        liquidity, max_average_daily_volume=int(p["max_average_daily_volume"])
    )
    return window, patterns.illiquid_concentration(
        fills, illiquid=illiquid, share_pct=decimal(p, "share_pct"),
        min_turnover=decimal(p, "min_turnover"), lookback_days=days,
    )  # fmt: skip


#: rule code -> its pattern over the period (its window, and what it found there)
PATTERNS: dict[str, Callable[[Period, dict], Run]] = {
    rules.INCOME_MISMATCH: _income_mismatch,
    rules.TURNOVER_VS_INCOME: _turnover_vs_income,
    rules.STRUCTURING: _structuring,
    rules.FUNDS_THROUGH: _funds_through,
    rules.DORMANT_REACTIVATED: _dormant_reactivated,
    rules.ILLIQUID_CONCENTRATION: _illiquid_concentration,
}


def _new(rule: AlertRule, findings: list[Finding], window: Window) -> list[Finding]:
    """The findings on subjects no alert of ``rule`` covers any of ``window`` for yet."""
    start, end = window
    covered = set(
        Alert.objects.filter(rule=rule, window_end__gt=start, window_start__lt=end).values_list(
            "subject_key", flat=True
        )
    )
    return [f for f in findings if f.subject_key[:120] not in covered]


def monitoring_run(*, day: date) -> dict[str, int]:
    """Run every enabled monitoring rule over its look-back window ending with ``day``;
    returns how many new alerts each rule raised.

    A rule whose stored parameters are invalid is never run on defaults: the other rules
    run, then a ``ValidationError`` names it (the task fails, loudly)."""
    enabled = {
        r.code: r
        for r in AlertRule.objects.filter(kind=AlertRule.Kind.MONITORING, enabled=True)
        if r.code in PATTERNS
    }
    refused: list[str] = []
    for code, rule in list(enabled.items()):
        try:
            rules.params_validate(code, rule.params)
        except ValidationError as error:
            refused.append(f"{code}: {'; '.join(error.messages)}")
            del enabled[code]
    raised: dict[str, int] = {}
    if enabled:
        longest = max(int(r.params["lookback_days"]) for r in enabled.values())
        period = Period.load(day=day, lookback_days=longest)
        for code, rule in sorted(enabled.items()):
            window, findings = PATTERNS[code](period, rule.params)
            raised[code] = findings_raise(
                rule=rule, findings=_new(rule, findings, window), window=window
            )
    if refused:
        raise ValidationError(
            [f"monitoring rule not run, its parameters are invalid: {r}" for r in refused]
        )
    return raised
