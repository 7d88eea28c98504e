"""Backtest runs: requested by a user, run by a worker on the ``backtests`` queue, stored.

- :func:`backtest_request` checks the strategy and its parameters (``strategy_make``), the
  instrument, interval and dates (from <= to, at most ``BACKTEST_MAX_DAYS`` days and
  ``BACKTEST_MAX_BARS`` bars, at least two bars) and the sizing and costs, records a queued
  :class:`BacktestRun` and its audit event in one transaction, and enqueues
  ``strategies.tasks.backtest_run`` on commit. Refused input makes nothing: every bad field
  is named in one :class:`BacktestRefused`.
- :func:`backtest_execute` (the task) claims the run, reads its bars
  (``strategies.selectors.bars_for``), runs the engine (``strategies.engine.backtest``) with
  a JobRun showing its steps, and stores the metrics, trades, equity and drawdown (one
  value per bar) with the code version; a failure keeps its message. No lock is held
  while the bars are read or the engine runs.

Each move follows :data:`TRANSITIONS`; the request and the outcome are audited.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import subprocess
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import numpy as np
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from compliance.services import audit_record
from marketdata.choices import Interval
from marketdata.models import Instrument
from marketdata.selectors import UnknownInstrument, instrument_get
from ops.progress import job_progress
from strategies.base import BacktestResult, Bars, StrategyError, strategy_make
from strategies.models import BacktestRun, series_pack
from strategies.selectors import MIN_BARS, RUN_PERM, bars_for, bars_range
from tradingsite.errors import DomainError

logger = logging.getLogger(__name__)
Status = BacktestRun.Status
Costs = BacktestRun.Costs

#: The moves a run may make; a move not listed is refused (a task run twice skips).
TRANSITIONS: dict[str, set[str]] = {
    Status.QUEUED: {Status.RUNNING, Status.FAILED},
    # Again from running: the task is redelivered after its worker was lost (acks late).
    Status.RUNNING: {Status.RUNNING, Status.SUCCEEDED, Status.FAILED},
}
ACTIONS = {Status.SUCCEEDED: "backtest.completed", Status.FAILED: "backtest.failed"}
#: Errors worth another attempt (a lost database connection, a network timeout).
TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)

#: Bars a year at each interval, for annualised ratios: 252 sessions of 375 minutes.
PERIODS_PER_YEAR = {
    Interval.MINUTE: 252 * 375,
    Interval.FIVE_MINUTES: 252 * 75,
    Interval.FIFTEEN_MINUTES: 252 * 25,
    Interval.HOUR: 252 * 6.25,
    Interval.DAY: 252,
}
LIMITS = {
    "quantity": (1, 10_000_000),
    "cash": (Decimal("1"), Decimal("10000000000000")),
    "commission_pct": (Decimal("0"), Decimal("10")),
    "slippage_bps": (Decimal("0"), Decimal("1000")),
}
PLACES = {"cash": 2, "commission_pct": 4, "slippage_bps": 2}
DEFAULTS = {
    "quantity": 1,
    "cash": Decimal("1000000"),
    "commission_pct": Decimal("0"),
    "slippage_bps": Decimal("0"),
    "costs": BacktestRun.Costs.NONE,
}


class BacktestRefused(DomainError):
    """A backtest request with bad input; ``errors`` names each field."""

    problem_type = "validation-error"


def code_version() -> str:
    """The code's version: ``TRADINGSITE_CODE_VERSION`` (set at build time), else what
    ``git describe`` says of the source folder, else "unknown"."""
    return settings.CODE_VERSION[:64] or _git_describe()


@lru_cache(maxsize=1)
def _git_describe() -> str:
    git = shutil.which("git")
    if git is None:
        return "unknown"
    try:
        done = subprocess.run(  # noqa: S603 - a fixed command, no input in it
            [git, "describe", "--always", "--dirty", "--tags"],
            cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=5, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (done.stdout.strip() if done.returncode == 0 else "")[:64] or "unknown"


def params_parse(text: str) -> dict[str, str]:
    """Parameters as typed in a form: a JSON object, or ``NAME=VALUE`` lines (blank lines
    and ``#`` comments skipped). Values stay text for the strategy to check."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            given = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BacktestRefused(
                "The parameters are not valid JSON.", errors={"params": [f"not JSON: {exc}"]}
            ) from None
        if not isinstance(given, dict):
            raise BacktestRefused("Parameters are an object.", errors={"params": ["not an object"]})
        return given
    given: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise BacktestRefused(
                f"Parameter line {number} is not NAME=VALUE: {line!r}.",
                errors={"params": [f"line {number}: {line!r} is not NAME=VALUE"]},
            )
        given[name.strip()] = value.strip()
    return given


def _decimal(name: str, raw: Any, errors: dict[str, list[str]]) -> Decimal | None:
    try:
        value = raw if isinstance(raw, Decimal) else Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        errors[name] = [f"{raw!r} is not a number"]
        return None
    low, high = LIMITS[name]
    if not value.is_finite() or not low <= value <= high:
        errors[name] = [f"{raw} is not between {low} and {high}"]
        return None
    places = Decimal(1).scaleb(-PLACES[name])
    if value != value.quantize(places):
        errors[name] = [f"{raw} has more than {PLACES[name]} decimal places"]
        return None
    return value.quantize(places)


def _integer(name: str, raw: Any, errors: dict[str, list[str]]) -> int | None:
    try:
        if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
            raise ValueError
        value = int(str(raw).strip()) if not isinstance(raw, int | float) else int(raw)
    except (TypeError, ValueError):
        errors[name] = [f"{raw!r} is not a whole number"]
        return None
    low, high = LIMITS[name]
    if not low <= value <= high:
        errors[name] = [f"{value} is not between {low} and {high}"]
        return None
    return value


def _date(name: str, raw: Any, errors: dict[str, list[str]]) -> date | None:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        errors[name] = [f"{raw!r} is not a date (YYYY-MM-DD)"]
        return None


def _jsonable(value: Any) -> Any:
    """``value`` as JSON can hold it: numpy scalars as Python's, NaN and infinities as None."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.datetime64):
        return str(value)
    return value


def _summary(run: BacktestRun) -> dict[str, Any]:
    return {
        "strategy": run.strategy,
        "params": run.params,
        "data": run.data_label,
        "quantity": run.quantity,
        "cash": str(run.cash),
        "commission_pct": str(run.commission_pct),
        "slippage_bps": str(run.slippage_bps),
        "costs": run.costs,
        "status": run.status,
        "bar_count": run.bar_count,
        "code_version": run.code_version,
        "metrics": run.metrics,
        "error": run.error[:500],
    }


def backtest_request(*, user: Any, data: Mapping[str, Any], enqueue: bool = True) -> BacktestRun:
    """Queue a backtest for ``user`` of ``data``: ``strategy``, ``params`` (an object, or
    text as :func:`params_parse` reads it), ``instrument`` (``NSE:INFY`` or an Instrument),
    ``interval``, ``date_from``, ``date_to`` and, optionally, ``quantity``, ``cash``,
    ``commission_pct``, ``slippage_bps`` and ``costs`` ("none" or "india").

    Raises :class:`BacktestRefused` naming every bad field, or :class:`PermissionError`
    without ``strategies.run_backtest``; either way nothing is recorded.
    """
    if not user.has_perm(RUN_PERM):
        raise PermissionError(f"Running a backtest needs the {RUN_PERM} permission.")
    errors: dict[str, list[str]] = {}
    name = str(data.get("strategy") or "").strip()
    raw_params = data.get("params") or {}
    checked: dict[str, Any] = {}
    try:
        given = params_parse(raw_params) if isinstance(raw_params, str) else raw_params
        if not isinstance(given, Mapping):
            raise BacktestRefused("Parameters are an object.", errors={"params": ["not an object"]})
        if not name:
            errors["strategy"] = ["name a strategy"]
        else:
            try:
                strategy = strategy_make(name, dict(given))
                checked = dict(strategy.values)
                if strategy.legs > 1:
                    errors["strategy"] = [
                        f"{name} trades {strategy.legs} instruments together; a run here "
                        "reads one (backtest it with `manage.py backtest`, --bars per leg)"
                    ]
            except StrategyError as refused:
                field = "strategy" if str(refused).startswith("no strategy") else "params"
                errors[field] = [str(refused)]
    except BacktestRefused as refused:
        errors.update(refused.errors)

    instrument = data.get("instrument")
    if not isinstance(instrument, Instrument):
        key, instrument = str(instrument or "").strip(), None
        if not key:
            errors["instrument"] = ["name an instrument, e.g. NSE:INFY"]
        else:
            try:
                instrument = instrument_get(key)
            except UnknownInstrument as unknown:
                errors["instrument"] = [str(unknown)]
    interval = str(data.get("interval") or "")
    if interval not in Interval.values:
        errors["interval"] = [f"{interval!r} is not an interval: choose one of {Interval.values}"]
    date_from = _date("date_from", data.get("date_from"), errors)
    date_to = _date("date_to", data.get("date_to"), errors)
    if date_from and date_to:
        days = (date_to - date_from).days + 1
        if days < 1:
            errors["date_to"] = [f"{date_to} is before date_from {date_from}"]
        elif days > settings.BACKTEST_MAX_DAYS:
            errors["date_to"] = [
                f"{days} days from {date_from} to {date_to}: at most "
                f"{settings.BACKTEST_MAX_DAYS} (BACKTEST_MAX_DAYS)"
            ]
    sizing: dict[str, Any] = {}
    for field in ("quantity", "cash", "commission_pct", "slippage_bps"):
        raw = data.get(field)
        if raw is None or raw == "":
            sizing[field] = DEFAULTS[field]
        elif field == "quantity":
            sizing[field] = _integer(field, raw, errors)
        else:
            sizing[field] = _decimal(field, raw, errors)
    costs = str(data.get("costs") or DEFAULTS["costs"])
    if costs not in Costs.values:
        errors["costs"] = [f"{costs!r} is not a costs mode: choose one of {Costs.values}"]

    dated = date_from and date_to and not errors.keys() & {"interval", "date_from", "date_to"}
    if instrument is not None and dated:
        bars = bars_range(instrument=instrument, interval=interval, start=date_from, end=date_to)
        count = bars.count()
        if count < MIN_BARS:
            errors["date_from"] = [
                f"{instrument.key} has {count} {interval} bar(s) from {date_from} to "
                f"{date_to}: a backtest needs at least {MIN_BARS}"
            ]
        elif count > settings.BACKTEST_MAX_BARS:
            errors["date_to"] = [
                f"{count} {interval} bars from {date_from} to {date_to}: at most "
                f"{settings.BACKTEST_MAX_BARS} (BACKTEST_MAX_BARS); shorten the range"
            ]
    if errors:
        fields = ", ".join(sorted(errors))
        raise BacktestRefused(f"The backtest was not queued: check {fields}.", errors=errors)

    with transaction.atomic():
        run = BacktestRun.objects.create(
            strategy=name, params=_jsonable(checked), instrument=instrument, interval=interval,
            date_from=date_from, date_to=date_to, costs=costs, requested_by=user, **sizing,
        )  # fmt: skip
        audit_record(action="backtest.requested", obj=run, actor=user, after=_summary(run))
        if enqueue:
            transaction.on_commit(lambda: _enqueue(run.pk))
    return run


def _enqueue(run_id: int) -> None:
    from strategies.tasks import backtest_run

    backtest_run.delay(run_id)


def _move(run_id: int, to: str, **fields: Any) -> BacktestRun | None:
    """Apply one move (locking the run's row only for it) and audit its outcome; ``None``
    when the move is not allowed from the run's state."""
    with transaction.atomic():
        run = BacktestRun.objects.select_for_update(of=("self",)).get(pk=run_id)
        if to not in TRANSITIONS.get(run.status, set()):
            return None
        before = run.status
        run.status = to
        for name, value in fields.items():
            setattr(run, name, value)
        run.save()
        if to in ACTIONS:
            audit_record(
                action=ACTIONS[to], obj=run, before={"status": before}, after=_summary(run)
            )
    return run


def backtest_execute(run_id: int, *, retry_transient: bool = False) -> BacktestRun:
    """Run one queued backtest and store what it gave (the task). Safe to run twice: a
    finished run is left as it is. With ``retry_transient`` a :data:`TRANSIENT` error is
    raised with the run left running, for the task to try again; otherwise every error
    fails the run with its message."""
    run = _move(run_id, Status.RUNNING, started_at=timezone.now(), code_version=code_version())
    if run is None:
        return BacktestRun.objects.get(pk=run_id)
    try:
        stored = _execute(run)
    except Exception as exc:  # the run records why; no results are stored
        if retry_transient and isinstance(exc, TRANSIENT):
            raise
        if not isinstance(exc, StrategyError | DomainError):
            logger.exception("Backtest run %s failed", run.pk)
        message = str(exc) if isinstance(exc, StrategyError) else f"{type(exc).__name__}: {exc}"
        failed = _move(run.pk, Status.FAILED, error=message[:2000], finished_at=timezone.now())
        return failed or BacktestRun.objects.get(pk=run_id)
    done = _move(run.pk, Status.SUCCEEDED, finished_at=timezone.now(), error="", **stored)
    return done or BacktestRun.objects.get(pk=run_id)


def _execute(run: BacktestRun) -> dict[str, Any]:
    """Read the bars, run the engine; the fields to store."""
    with job_progress(
        "strategies.backtest",
        f"Backtest {run.pk}: {run.strategy} on {run.data_label}",
        total=3, unit="steps", show_bar=False,
    ) as job:  # fmt: skip
        BacktestRun.objects.filter(pk=run.pk).update(job_run=job.run)
        strategy = strategy_make(run.strategy, run.params)
        if run.instrument_id is None:
            raise StrategyError(
                f"Backtest {run.pk} names no instrument: bars from a CSV ({run.source or '-'}) "
                "are run by `manage.py backtest`, not by the worker."
            )
        bars = bars_for(run.instrument, run.interval, run.date_from, run.date_to)
        job.advance(message=f"{len(bars)} bars read")
        from strategies.engine import backtest  # looked up when run (tests stand in for it)

        result = backtest(
            strategy, bars, quantity=run.quantity, cash=float(run.cash),
            commission_pct=float(run.commission_pct), slippage_bps=float(run.slippage_bps),
            costs=_costs(run),
            periods_per_year=PERIODS_PER_YEAR.get(run.interval),
        )  # fmt: skip
        job.advance(message=f"{len(result.trades)} trades")
        stored = result_fields(result, bars)
        job.advance(message="stored")
        job.finish(result={"bars": len(bars), "trades": len(result.trades)})
    return {**stored, "job_run": job.run}


def _costs(run: BacktestRun):
    """The engine's ``costs``: none, or the Indian charges of ``orders.charges`` as a
    delivery (CNC) trade for day bars and an intraday (MIS) one for shorter bars."""
    if run.costs == Costs.NONE:
        return None
    from strategies.costs import indian_costs

    return indian_costs("CNC" if run.interval == Interval.DAY else "MIS")


def drawdown_pct(equity: np.ndarray) -> np.ndarray:
    """Percent below the running peak at each bar: 0 at a new peak, negative below it."""
    equity = np.asarray(equity, dtype=np.float64)
    if not len(equity):
        return equity
    peak = np.maximum.accumulate(equity)
    with np.errstate(divide="ignore", invalid="ignore"):
        drawdown = np.where(peak > 0, (equity / peak - 1.0) * 100.0, 0.0)
    return drawdown


def result_fields(result: BacktestResult, bars: Bars) -> dict[str, Any]:
    """A BacktestRun's stored fields from the engine's ``result`` on ``bars``: metrics and
    open position as JSON (None for undefined ratios), trades with their bars' labels, and
    the times, equity and drawdown packed, one value per bar."""
    equity = np.asarray(result.equity, dtype=np.float64)
    if len(equity) != len(bars):
        raise StrategyError(f"the engine gave {len(equity)} equity values for {len(bars)} bars")
    labels = bars.labels or tuple(str(t) for t in bars.time)
    trades = [
        {
            "entry_index": int(t.entry_index),
            "entry_date": labels[t.entry_index],
            "entry_price": float(t.entry_price),
            "exit_index": int(t.exit_index),
            "exit_date": labels[t.exit_index],
            "exit_price": float(t.exit_price),
            "quantity": float(t.quantity),
            "pnl": float(t.pnl),
            "costs": float(t.costs),
            "leg": int(t.leg),
        }
        for t in result.trades
    ]
    times = np.asarray(bars.time, dtype="datetime64[us]").astype("<i8")
    return {
        "metrics": _jsonable(dict(result.metrics)),
        "trades": _jsonable(trades),
        "open_position": _jsonable(result.open_position),
        "bar_count": len(bars),
        "times_packed": series_pack(times, "<i8"),
        "equity_packed": series_pack(equity),
        "drawdown_packed": series_pack(drawdown_pct(equity)),
    }
