"""Backtest runs: requested by a user, run by a worker on the ``backtests`` queue, stored.

- :func:`backtest_request` checks the strategy and its parameters (``strategy_make``), the
  instrument, interval and dates (from <= to, at most ``BACKTEST_MAX_DAYS`` days and
  ``BACKTEST_MAX_BARS`` bars, at least two bars) and the sizing and costs, records a queued
  :class:`BacktestRun` and its audit event in one transaction, and enqueues
  ``strategies.tasks.backtest_run`` on commit. Refused input makes nothing: every bad field
  is named in one :class:`BacktestRefused`.
- :func:`backtest_execute` (the task) claims the run, reads its bars
  (``strategies.selectors.legs_for``), runs the engine (``strategies.engine.backtest``) with
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
from strategies.selectors import MIN_BARS, RUN_PERM, bars_range, legs_for
from tradingsite.errors import DomainError

logger = logging.getLogger(__name__)
Status = BacktestRun.Status
Costs = BacktestRun.Costs
Kind = BacktestRun.Kind
Sizing = BacktestRun.Sizing

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
    "risk_pct": (Decimal("0.01"), Decimal("100")),
    "stop_atr": (Decimal("0.1"), Decimal("100")),
}
PLACES = {"cash": 2, "commission_pct": 4, "slippage_bps": 2, "risk_pct": 2, "stop_atr": 2}
DEFAULTS = {
    "quantity": 1,
    "cash": Decimal("1000000"),
    "commission_pct": Decimal("0"),
    "slippage_bps": Decimal("0"),
    "costs": BacktestRun.Costs.NONE,
    "risk_pct": Decimal("2"),
    "stop_atr": Decimal("2"),
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


def _integer(
    name: str, raw: Any, errors: dict[str, list[str]], bounds: tuple | None = None
) -> int | None:
    """``raw`` as a whole number within ``bounds`` (default ``LIMITS[name]``; None: open)."""
    try:
        if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
            raise ValueError
        value = int(str(raw).strip()) if not isinstance(raw, int | float) else int(raw)
    except (TypeError, ValueError):
        errors[name] = [f"{raw!r} is not a whole number"]
        return None
    low, high = bounds or LIMITS[name]
    if value < low or (high is not None and value > high):
        errors[name] = [f"{value} is not between {low} and {high if high is not None else 'any'}"]
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
        "kind": run.kind,
        "strategy": run.strategy,
        "params": run.params,
        "data": run.data_label,
        "quantity": run.quantity,
        "cash": str(run.cash),
        "commission_pct": str(run.commission_pct),
        "slippage_bps": str(run.slippage_bps),
        "costs": run.costs,
        "sizing": run.sizing,
        "risk_pct": None if run.risk_pct is None else str(run.risk_pct),
        "stop_atr": None if run.stop_atr is None else str(run.stop_atr),
        "walk_forward": {k: v for k, v in run.walk_forward.items() if k != "skipped"},
        "status": run.status,
        "bar_count": run.bar_count,
        "code_version": run.code_version,
        "metrics": run.metrics,
        "error": run.error[:500],
    }


def _instrument(field: str, raw: Any, errors: dict[str, list[str]]) -> Instrument | None:
    if isinstance(raw, Instrument):
        return raw
    key = str(raw or "").strip()
    if not key:
        errors[field] = ["name an instrument, e.g. NSE:INFY"]
        return None
    try:
        return instrument_get(key)
    except UnknownInstrument as unknown:
        errors[field] = [str(unknown)]
        return None


def _checked(data: Mapping[str, Any], errors: dict[str, list[str]]) -> dict[str, Any]:
    """The fields of a run that backtests and walk-forwards share, checked; every bad one
    named in ``errors``. ``data["params"]`` fixes parameters (the rest take defaults)."""
    name = str(data.get("strategy") or "").strip()
    raw_params = data.get("params") or {}
    checked: dict[str, Any] = {}
    legs = 1
    try:
        given = params_parse(raw_params) if isinstance(raw_params, str) else raw_params
        if not isinstance(given, Mapping):
            raise BacktestRefused("Parameters are an object.", errors={"params": ["not an object"]})
        if not name:
            errors["strategy"] = ["name a strategy"]
        else:
            try:
                strategy = strategy_make(name, dict(given))
                checked, legs = dict(strategy.values), strategy.legs
            except StrategyError as refused:
                field = "strategy" if str(refused).startswith("no strategy") else "params"
                errors[field] = [str(refused)]
    except BacktestRefused as refused:
        errors.update(refused.errors)

    instrument = _instrument("instrument", data.get("instrument"), errors)
    second = data.get("second_instrument") or None
    if legs == 2 and second is None:
        errors["second_instrument"] = [f"{name} trades two instruments: name the second leg"]
    elif legs == 1 and second is not None:
        errors["second_instrument"] = [f"{name} trades one instrument: leave the second empty"]
    second = _instrument("second_instrument", second, errors) if second is not None else None
    if instrument is not None and second is not None and instrument.pk == second.pk:
        errors["second_instrument"] = ["the second leg must differ from the first"]
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
    fields: dict[str, Any] = {}
    for field in ("quantity", "cash", "commission_pct", "slippage_bps"):
        raw = data.get(field)
        if raw is None or raw == "":
            fields[field] = DEFAULTS[field]
        elif field == "quantity":
            fields[field] = _integer(field, raw, errors)
        else:
            fields[field] = _decimal(field, raw, errors)
    costs = str(data.get("costs") or DEFAULTS["costs"])
    if costs not in Costs.values:
        errors["costs"] = [f"{costs!r} is not a costs mode: choose one of {Costs.values}"]
    fields.update(_sizing_checked(data, legs, errors))

    bar_count = 0
    dated = date_from and date_to and not errors.keys() & {"interval", "date_from", "date_to"}
    if instrument is not None and dated:
        bar_count = bars_range(
            instrument=instrument, interval=interval, start=date_from, end=date_to
        ).count()
        if bar_count < MIN_BARS:
            errors["date_from"] = [
                f"{instrument.key} has {bar_count} {interval} bar(s) from {date_from} to "
                f"{date_to}: a backtest needs at least {MIN_BARS}"
            ]
        elif bar_count > settings.BACKTEST_MAX_BARS:
            errors["date_to"] = [
                f"{bar_count} {interval} bars from {date_from} to {date_to}: at most "
                f"{settings.BACKTEST_MAX_BARS} (BACKTEST_MAX_BARS); shorten the range"
            ]
    return {
        "strategy": name, "params": _jsonable(checked), "instrument": instrument,
        "second_instrument": second, "interval": interval, "date_from": date_from,
        "date_to": date_to, "costs": costs, "bar_count": bar_count, **fields,
    }  # fmt: skip


def _sizing_checked(data: Mapping[str, Any], legs: int, errors: dict[str, list[str]]) -> dict:
    sizing = str(data.get("sizing") or Sizing.FIXED)
    if sizing not in Sizing.values:
        errors["sizing"] = [f"{sizing!r} is not a sizing: choose one of {Sizing.values}"]
        return {}
    if sizing == Sizing.FIXED:
        for field in ("risk_pct", "stop_atr"):
            if data.get(field) not in (None, ""):
                errors[field] = [f"{field} is for risk sizing; this run trades a fixed quantity"]
        return {"sizing": sizing}
    if legs > 1:
        errors["sizing"] = ["risk sizing sizes one instrument; a pair trades a fixed quantity"]
    given = {field: data.get(field) for field in ("risk_pct", "stop_atr")}
    checked = {
        field: _decimal(field, DEFAULTS[field] if raw in (None, "") else raw, errors)
        for field, raw in given.items()
    }
    return {"sizing": sizing, **checked}


def _queued(user: Any, fields: dict[str, Any], action: str, enqueue: bool) -> BacktestRun:
    fields.pop("bar_count", None)
    with transaction.atomic():
        run = BacktestRun.objects.create(requested_by=user, **fields)
        audit_record(action=action, obj=run, actor=user, after=_summary(run))
        if enqueue:
            transaction.on_commit(lambda: _enqueue(run.pk))
    return run


def _refuse_if(errors: dict[str, list[str]], what: str) -> None:
    if errors:
        fields = ", ".join(sorted(errors))
        raise BacktestRefused(f"The {what} was not queued: check {fields}.", errors=errors)


def backtest_request(*, user: Any, data: Mapping[str, Any], enqueue: bool = True) -> BacktestRun:
    """Queue a backtest for ``user`` of ``data``: ``strategy``, ``params`` (an object, or
    text as :func:`params_parse` reads it), ``instrument`` (``NSE:INFY`` or an Instrument;
    and ``second_instrument`` for a pair), ``interval``, ``date_from``, ``date_to`` and,
    optionally, ``quantity``, ``cash``, ``commission_pct``, ``slippage_bps``, ``costs``
    ("none" or "india") and ``sizing`` ("fixed", or "risk" with ``risk_pct`` and
    ``stop_atr``).

    Raises :class:`BacktestRefused` naming every bad field, or :class:`PermissionError`
    without ``strategies.run_backtest``; either way nothing is recorded.
    """
    if not user.has_perm(RUN_PERM):
        raise PermissionError(f"Running a backtest needs the {RUN_PERM} permission.")
    errors: dict[str, list[str]] = {}
    fields = _checked(data, errors)
    _refuse_if(errors, "backtest")
    return _queued(user, fields, "backtest.requested", enqueue)


def walkforward_request(*, user: Any, data: Mapping[str, Any], enqueue: bool = True) -> BacktestRun:
    """Queue a walk-forward for ``user``: what :func:`backtest_request` takes but
    ``params`` (each window's are chosen from the space; a parameter left out of it takes
    its default), and ``space`` (``NAME=v1,v2`` lines for a grid or
    ``NAME=LOW:HIGH`` lines with ``samples`` and ``seed`` for random search; or an object
    of a name to its values, or to "LOW:HIGH"), ``windows``, optionally ``in_sample`` and
    ``out_of_sample`` (bars), ``anchored``, ``boundary`` ("carry" or "flatten") and
    ``objective``. The space, the windows over the range's bars and the points' count
    (at most ``WALKFORWARD_MAX_POINTS``) are checked here; refused input makes nothing.
    """
    if not user.has_perm(RUN_PERM):
        raise PermissionError(f"Running a walk-forward needs the {RUN_PERM} permission.")
    errors: dict[str, list[str]] = {}
    if data.get("params"):
        errors["params"] = [
            "a walk-forward varies its parameters in the space: fix one there with a single "
            "value, e.g. slow=30"
        ]
    fields = _checked({**data, "params": {}}, errors)
    fields["params"] = {}
    plan = _walk_checked(data, fields, errors)
    _refuse_if(errors, "walk-forward")
    return _queued(
        user, {**fields, "kind": Kind.WALK_FORWARD, "walk_forward": plan},
        "backtest.walkforward_requested", enqueue,
    )  # fmt: skip


def _space_lines(raw: Any) -> list[str]:
    if isinstance(raw, Mapping):
        return [
            f"{name}={','.join(str(v) for v in values)}"
            if isinstance(values, list | tuple)
            else f"{name}={values}"
            for name, values in raw.items()
        ]
    return str(raw or "").splitlines()


def _walk_checked(
    data: Mapping[str, Any], fields: dict[str, Any], errors: dict[str, list[str]]
) -> dict[str, Any]:
    """The walk-forward's plan as stored: the space, its points, the windows and objective."""
    from strategies.walkforward import BOUNDARIES, OBJECTIVES, space_described, space_parse

    plan: dict[str, Any] = {}
    numbers = {}
    for field, low, high, default in (
        ("windows", 1, 50, 5), ("in_sample", 2, None, None), ("out_of_sample", 2, None, None),
        ("samples", 1, settings.WALKFORWARD_MAX_POINTS, None), ("seed", 0, 2**32 - 1, 0),
    ):  # fmt: skip
        raw = data.get(field)
        if raw is None or raw == "":
            numbers[field] = default
            continue
        numbers[field] = _integer(field, raw, errors, (low, high))
    objective = str(data.get("objective") or "sharpe")
    if objective not in OBJECTIVES:
        errors["objective"] = [f"{objective!r}: choose one of {', '.join(OBJECTIVES)}"]
    boundary = str(data.get("boundary") or "carry")
    if boundary not in BOUNDARIES:
        errors["boundary"] = [f"{boundary!r}: choose one of {', '.join(BOUNDARIES)}"]
    anchored = data.get("anchored") in (True, "true", "on", "1", 1)
    if "space" in errors or "strategy" in errors or errors.keys() & {"samples", "seed"}:
        return plan
    try:
        space = space_parse(
            _space_lines(data.get("space")), samples=numbers["samples"], seed=numbers["seed"]
        )
        points = space.points(fields["strategy"])
    except StrategyError as refused:
        errors["space"] = [str(refused)]
        return plan
    if not points.valid:
        reason = points.skipped[0][1] if points.skipped else "it is empty"
        errors["space"] = [f"no valid point in the space ({reason})"]
    elif len(points.valid) > settings.WALKFORWARD_MAX_POINTS:
        errors["space"] = [
            f"{len(points.valid)} points: at most {settings.WALKFORWARD_MAX_POINTS} "
            "(WALKFORWARD_MAX_POINTS)"
        ]
    if fields.get("bar_count") and numbers["windows"] and not errors:
        from strategies.walkforward import windows_make

        try:
            windows_make(
                fields["bar_count"], windows=numbers["windows"],
                in_sample=numbers["in_sample"], out_of_sample=numbers["out_of_sample"],
                anchored=anchored,
            )  # fmt: skip
        except StrategyError as refused:
            errors["windows"] = [f"{refused} in the range"]
    return {
        "space": space_described(space), "points": len(points.valid),
        "skipped": [{"params": p, "reason": why} for p, why in points.skipped[:50]],
        "skipped_count": len(points.skipped), "windows": numbers["windows"],
        "in_sample": numbers["in_sample"], "out_of_sample": numbers["out_of_sample"],
        "anchored": anchored, "boundary": boundary, "objective": objective,
    }  # fmt: skip


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
    """Read the bars, run the engine (or walk forward); the fields to store."""
    walk = run.kind == Kind.WALK_FORWARD
    steps = 2 + (run.walk_forward.get("windows", 0) if walk else 1)
    what = "Walk-forward" if walk else "Backtest"
    with job_progress(
        "strategies.backtest", f"{what} {run.pk}: {run.strategy} on {run.data_label}",
        total=steps, unit="steps", show_bar=False,
    ) as job:  # fmt: skip
        BacktestRun.objects.filter(pk=run.pk).update(job_run=job.run)
        strategy = strategy_make(run.strategy, run.params)
        if run.instrument_id is None:
            raise StrategyError(
                f"Backtest {run.pk} names no instrument: bars from a CSV ({run.source or '-'}) "
                "are run by `manage.py backtest`, not by the worker."
            )
        legs = [run.instrument] + ([run.second_instrument] if run.second_instrument_id else [])
        bars = legs_for(legs, run.interval, run.date_from, run.date_to)
        first = bars[0] if isinstance(bars, tuple) else bars
        job.advance(message=f"{len(first)} bars read")
        if walk:
            stored = _walk(run, bars, job)
        else:
            from strategies.engine import backtest  # looked up when run (tests stand in)

            result = backtest(strategy, bars, **_engine_options(run))
            job.advance(message=f"{len(result.trades)} trades")
            stored = result_fields(result, first)
        job.advance(message="stored")
        job.finish(result={"bars": len(first), "trades": len(stored["trades"])})
    return {**stored, "job_run": job.run}


def _engine_options(run: BacktestRun) -> dict[str, Any]:
    from strategies.engine import RiskSizing

    sizing = None
    if run.sizing == Sizing.RISK:
        sizing = RiskSizing(risk_pct=float(run.risk_pct), stop_atr=float(run.stop_atr))
    return {
        "quantity": run.quantity, "cash": float(run.cash),
        "commission_pct": float(run.commission_pct), "slippage_bps": float(run.slippage_bps),
        "costs": _costs(run), "periods_per_year": PERIODS_PER_YEAR.get(run.interval),
        "sizing": sizing,
    }  # fmt: skip


def _walk_processes() -> int:
    """``WALKFORWARD_PROCESSES``, or 1 in a daemonic process (a Celery prefork child),
    which may not start processes of its own."""
    import multiprocessing

    if multiprocessing.current_process().daemon:
        return 1
    return max(1, settings.WALKFORWARD_PROCESSES)


def _walk(run: BacktestRun, bars, job) -> dict[str, Any]:
    """Walk the run's strategy forward (``strategies.walkforward``): the stitched
    out-of-sample run as its results, and each window's report."""
    from strategies.walkforward import space_loaded, walk_forward

    plan = run.walk_forward
    walked = walk_forward(
        run.strategy, bars, space_loaded(plan["space"]), windows=plan["windows"],
        in_sample=plan["in_sample"], out_of_sample=plan["out_of_sample"], anchored=plan["anchored"],
        objective=plan["objective"], boundary=plan["boundary"], processes=_walk_processes(),
        on_window=lambda done, total: job.advance(message=f"window {done} of {total} optimised"),
        **_engine_options(run),
    )  # fmt: skip
    first = bars[0] if isinstance(bars, tuple) else bars
    oos_bars = first.between(walked.oos_start, walked.oos_start + len(walked.oos_equity))
    result = BacktestResult(
        trades=walked.oos_trades, equity=walked.oos_equity,
        open_position=walked.oos_open_position, metrics=walked.oos_metrics,
    )  # fmt: skip
    windows = [
        {
            "index": w.window.index,
            **w.labels,
            "params": w.params,
            "points": w.points,
            "in_sample": w.in_sample,
            "out_of_sample": w.out_of_sample,
        }
        for w in walked.windows
    ]
    return {
        **result_fields(result, oos_bars),
        "windows": _jsonable(windows),
        "degradation": _jsonable(walked.degradation),
    }


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
