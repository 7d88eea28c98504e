"""Reads of the strategies app that others share: bars for the engine, the backtest runs a
user may see, and the strategy catalogue."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from django.db.models import QuerySet

from marketdata.calendar import IST
from marketdata.choices import Interval
from marketdata.models import Bar, Instrument
from strategies.base import STRATEGIES, Bars, Strategy, StrategyError
from strategies.models import BacktestRun

#: The fewest bars a backtest runs on: a decision at one close, its fill at the next open.
MIN_BARS = 2
VIEW_PERM = "strategies.view_strategies"
RUN_PERM = "strategies.run_backtest"
#: Holders see every user's runs, not only their own (a model permission: staff roles).
VIEW_ALL_PERM = "strategies.view_backtestrun"


def _utc_bounds(start: date | datetime, end: date | datetime) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC; dates are IST sessions, ``end`` included."""
    if not isinstance(start, datetime):
        start = datetime.combine(start, time.min, IST)
    if not isinstance(end, datetime):
        end = datetime.combine(end + timedelta(days=1), time.min, IST)
    return start, end


def bars_range(
    *, instrument: Instrument, interval: str, start: date | datetime, end: date | datetime
) -> QuerySet[Bar]:
    """The bars of ``instrument`` at ``interval`` starting in ``[start, end]`` (see
    :func:`bars_for`), in time order."""
    lo, hi = _utc_bounds(start, end)
    return Bar.objects.filter(
        instrument=instrument, interval=interval, start__gte=lo, start__lt=hi
    ).order_by("start")


def bars_for(
    instrument: Instrument, interval: str, start: date | datetime, end: date | datetime
) -> Bars:
    """``instrument``'s bars at ``interval`` from ``start`` to ``end`` as the engine reads
    them: float64 arrays, times ``datetime64[us]`` UTC, labels in IST (a date for day bars,
    ISO with its offset otherwise). Dates are IST sessions, both included; datetimes give
    ``[start, end)``. StrategyError when there are fewer than :data:`MIN_BARS`."""
    rows = list(
        bars_range(instrument=instrument, interval=interval, start=start, end=end).values_list(
            "start", "open", "high", "low", "close", "volume"
        )
    )
    if len(rows) < MIN_BARS:
        lo, hi = _utc_bounds(start, end)
        found = "no bars" if not rows else f"only {len(rows)} bar"
        raise StrategyError(
            f"{instrument.key} has {found} at {interval} from {lo.astimezone(IST):%Y-%m-%d %H:%M} "
            f"to {hi.astimezone(IST):%Y-%m-%d %H:%M} IST: a backtest needs at least {MIN_BARS}."
        )
    starts = [row[0].astimezone(UTC).replace(tzinfo=None) for row in rows]
    n = len(rows)

    def column(i: int) -> np.ndarray:
        return np.fromiter((float(row[i]) for row in rows), dtype=np.float64, count=n)

    if interval == Interval.DAY:
        labels = tuple(s.astimezone(IST).date().isoformat() for s, *_ in rows)
    else:
        labels = tuple(s.astimezone(IST).isoformat() for s, *_ in rows)
    return Bars(
        time=np.array(starts, dtype="datetime64[us]"),
        open=column(1), high=column(2), low=column(3), close=column(4), volume=column(5),
        labels=labels, symbol=instrument.key,
    )  # fmt: skip


def legs_for(
    instruments: list[Instrument], interval: str, start: date | datetime, end: date | datetime
) -> Bars | tuple[Bars, ...]:
    """:func:`bars_for` of one instrument, or of each leg of a pair on their common bars
    (a minute one leg lacks is left out of both, so the legs share one time grid)."""
    legs = [bars_for(instrument, interval, start, end) for instrument in instruments]
    if len(legs) == 1:
        return legs[0]
    common = legs[0].time
    for leg in legs[1:]:
        common = np.intersect1d(common, leg.time)
    if len(common) < MIN_BARS:
        keys = " and ".join(i.key for i in instruments)
        raise StrategyError(
            f"{keys} share {len(common)} {interval} bar(s) in the range: a backtest of a pair "
            f"needs at least {MIN_BARS} bars at the same times"
        )
    aligned = []
    for leg in legs:
        keep = np.flatnonzero(np.isin(leg.time, common))
        aligned.append(
            Bars(
                time=leg.time[keep],
                open=leg.open[keep],
                high=leg.high[keep],
                low=leg.low[keep],
                close=leg.close[keep],
                volume=leg.volume[keep],
                labels=tuple(leg.labels[i] for i in keep),
                symbol=leg.symbol,
            )
        )
    return tuple(aligned)


def backtest_runs_for(*, user: Any) -> QuerySet[BacktestRun]:
    """The runs ``user`` may see, newest first: none without ``strategies.view_strategies``;
    their own; everyone's with ``strategies.view_backtestrun`` (the desk's staff)."""
    runs = BacktestRun.objects.select_related("instrument", "second_instrument", "requested_by")
    if not user.has_perm(VIEW_PERM):
        return runs.none()
    if user.has_perm(VIEW_ALL_PERM):
        return runs
    return runs.filter(requested_by=user)


def deployments_for(*, user: Any, account: Any) -> QuerySet:
    """The deployments on ``account`` if ``user`` may see the account, newest first."""
    from orders.selectors import accounts_for
    from strategies.live.models import StrategyDeployment

    if not accounts_for(user).filter(pk=account.pk).exists():
        return StrategyDeployment.objects.none()
    return StrategyDeployment.objects.filter(account=account).select_related("instrument")


def strategy_catalogue() -> list[type[Strategy]]:
    """Every registered strategy, by name (importing the catalogue registers them)."""
    import strategies.catalogue  # noqa: F401

    return [STRATEGIES[name] for name in sorted(STRATEGIES)]
