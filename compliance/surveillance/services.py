"""Running surveillance: each enabled rule's pattern over one trading day's orders and
fills, each finding raised as an alert (once per rule, subject and day: a second run raises
nothing new).

In session the patterns that look at what already happened run every few minutes; those
that need the whole day (marking the close, concentration) run at the end of the day.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError

from compliance.alerts.findings import findings_raise
from compliance.alerts.models import AlertRule
from compliance.surveillance import patterns, rules, selectors
from compliance.surveillance.rules import decimal
from marketdata import calendar


@dataclass(frozen=True)
class Day:
    """What a pattern reads of one trading day (loaded once per run)."""

    day: date
    orders: list[patterns.OrderRow]
    fills: list[patterns.FillRow]
    groups: dict[int, int]


def _close_at(day: date) -> datetime:
    return datetime.combine(day, calendar.MARKET_CLOSE, calendar.IST)


def _marking_close(data: Day, p: dict) -> list[patterns.Finding]:
    close_at = _close_at(data.day)
    start = close_at - timedelta(minutes=int(p["last_minutes"]))
    late = [f for f in data.fills if start <= f.at <= close_at]
    reference, closing = selectors.prices_around_close(
        fills=[f for f in data.fills if f.instrument_id in {x.instrument_id for x in late}],
        day=data.day,
        window_start=start,
        close_at=close_at,
    )
    return patterns.marking_close(
        data.fills, close_at=close_at, reference=reference, closing=closing,
        last_minutes=int(p["last_minutes"]), move_pct=decimal(p, "move_pct"),
        min_share_pct=decimal(p, "min_share_pct"),
    )  # fmt: skip


def _concentration(data: Day, p: dict) -> list[patterns.Finding]:
    volumes = selectors.market_volumes(
        instrument_ids={f.instrument_id for f in data.fills}, day=data.day
    )
    return patterns.concentration(
        data.fills, market_volume=volumes, share_pct=decimal(p, "share_pct"),
        min_quantity=int(p["min_quantity"]),
    )  # fmt: skip


#: rule code -> (the pattern over one day, whether it waits for the end of the day)
PATTERNS: dict[str, tuple[Callable[[Day, dict], list[patterns.Finding]], bool]] = {
    rules.WASH_TRADE: (
        lambda d, p: patterns.wash_trades(
            d.fills,
            groups=d.groups,
            window_seconds=int(p["window_seconds"]),
            price_tolerance_pct=decimal(p, "price_tolerance_pct"),
        ),
        False,
    ),
    rules.SPOOFING: (
        lambda d, p: patterns.spoofing(
            d.orders,
            d.fills,
            min_quantity=int(p["min_quantity"]),
            min_distance_pct=decimal(p, "min_distance_pct"),
            cancel_within_seconds=int(p["cancel_within_seconds"]),
            other_side_window_seconds=int(p["other_side_window_seconds"]),
        ),
        False,
    ),
    rules.ORDER_TO_TRADE: (
        lambda d, p: patterns.order_to_trade(
            d.orders,
            d.fills,
            slabs=p["slabs"],
            exclude_within_pct=decimal(p, "exclude_within_pct"),
            min_orders=int(p["min_orders"]),
        ),
        False,
    ),
    rules.MARKING_CLOSE: (_marking_close, True),
    rules.FRONT_RUNNING: (
        lambda d, p: patterns.front_running(
            d.orders,
            window_seconds=int(p["window_seconds"]),
            min_client_quantity=int(p["min_client_quantity"]),
        ),
        False,
    ),
    rules.CIRCULAR_TRADING: (
        lambda d, p: patterns.circular_trading(
            d.fills,
            groups=d.groups,
            window_seconds=int(p["window_seconds"]),
            leg_seconds=int(p["leg_seconds"]),
            price_tolerance_pct=decimal(p, "price_tolerance_pct"),
            min_parties=int(p["min_parties"]),
        ),
        False,
    ),
    rules.CONCENTRATION: (_concentration, True),
}


def surveillance_run(*, day: date, close: bool = False) -> dict[str, int]:
    """Run every enabled surveillance rule over ``day`` (at the end of the day, ``close``,
    also those that need the whole day); returns how many new alerts each rule raised.

    A rule whose stored parameters are invalid is never run on defaults: the other rules
    run, then a ``ValidationError`` names it (the task fails, loudly)."""
    enabled = {
        r.code: r
        for r in AlertRule.objects.filter(kind=AlertRule.Kind.SURVEILLANCE, enabled=True)
        if r.code in PATTERNS
    }
    refused: list[str] = []
    for code, rule in list(enabled.items()):
        try:
            rules.params_validate(code, rule.params)
        except ValidationError as error:
            refused.append(f"{code}: {'; '.join(error.messages)}")
            del enabled[code]
    data = Day(
        day=day,
        orders=selectors.order_rows(day=day),
        fills=selectors.fill_rows(day=day),
        groups=selectors.client_groups(),
    )
    window = calendar.session_bounds(day)
    raised: dict[str, int] = {}
    for code, rule in sorted(enabled.items()):
        pattern, at_close = PATTERNS[code]
        if at_close and not close:
            continue
        raised[code] = findings_raise(rule=rule, findings=pattern(data, rule.params), window=window)
    if refused:
        raise ValidationError(
            [f"surveillance rule not run, its parameters are invalid: {r}" for r in refused]
        )
    return raised
