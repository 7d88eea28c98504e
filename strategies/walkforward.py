"""Parameter optimisation and walk-forward analysis over the backtest engine (no Django).

- A **space** is a :class:`Grid` (every combination of the values given per parameter) or
  a :class:`RandomSpace` (``samples`` points drawn from ranges with a seed). Each point is
  checked by the strategy itself (``strategy_make``); a point it refuses (fast >= slow, a
  value out of bounds) is skipped and counted, never run.
- :func:`optimise` backtests every point in several processes (the bars are handed to each
  worker once, by its initializer) and ranks them by an objective metric.
- :func:`walk_forward` splits the bars into in-sample / out-of-sample windows (rolling or
  anchored), optimises on each in-sample window only, runs the winner over the window's
  out-of-sample bars (warm-up from the bars before them only) and stitches the
  out-of-sample targets into one run, so each window starts from the previous one's
  ending equity. Each chosen strategy is checked for peeking over its out-of-sample bars
  (:func:`peek_check`) and refused if it does.

docs/strategies.md, "Walk-forward and optimisation", defines the semantics.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from strategies.base import Bars, Param, Strategy, StrategyError, Trade, strategy_make
from strategies.engine import backtest, backtest_targets
from strategies.metrics import metrics_compute, periods_per_year_infer

#: objectives where a smaller value is better; every other metric ranks larger first
SMALLER_IS_BETTER = frozenset({"max_drawdown_pct"})
OBJECTIVES = (
    "sharpe", "sortino", "total_return", "cagr", "total_pnl", "final_equity",
    "profit_factor", "win_rate", "max_drawdown_pct",
)  # fmt: skip
BOUNDARIES = ("carry", "flatten")
#: metrics whose in-sample against out-of-sample degradation is always reported
DEGRADATION_METRICS = ("sharpe", "total_return")

BarsLike = Bars | tuple[Bars, ...]


# --- spaces ---------------------------------------------------------------------------


@dataclass
class Points:
    """A space's points for one strategy: the valid ones in order, and the skipped ones
    with the strategy's reason."""

    valid: list[dict[str, Any]]
    skipped: list[tuple[dict[str, Any], str]] = field(default_factory=list)


def _params_of(strategy_name: str) -> dict[str, Param]:
    """The strategy's parameters; StrategyError naming an unknown strategy."""
    return {p.name: p for p in type(strategy_make(strategy_name)).params}


def _known(strategy_name: str, names: Iterable[str]) -> dict[str, Param]:
    params = _params_of(strategy_name)
    unknown = sorted(set(names) - set(params))
    if unknown:
        raise StrategyError(
            f"{strategy_name} has no parameter {', '.join(unknown)} "
            f"(it takes {', '.join(params) or 'none'})"
        )
    return params


def _typed(param: Param, raw: Any) -> Any:
    """``raw`` as the parameter's type, bounds not applied (the strategy checks those)."""
    return Param(param.name, param.type, param.default).parse(raw)


def _checked(strategy_name: str, candidates: Iterable[dict[str, Any]]) -> Points:
    points = Points(valid=[])
    seen: set[tuple] = set()
    for point in candidates:
        key = tuple(sorted(point.items()))
        if key in seen:
            points.skipped.append((point, "duplicate of an earlier point"))
            continue
        seen.add(key)
        try:
            strategy_make(strategy_name, point)
        except StrategyError as exc:
            points.skipped.append((point, str(exc)))
        else:
            points.valid.append(point)
    return points


@dataclass(frozen=True)
class Grid:
    """Every combination of ``values`` (parameter -> the values to try), in the order
    given: the last parameter varies fastest."""

    values: Mapping[str, Sequence[Any]]

    def points(self, strategy_name: str) -> Points:
        if not self.values:
            raise StrategyError("grid: no parameters to vary")
        params = _known(strategy_name, self.values)
        axes = []
        for name, values in self.values.items():
            if len(values) == 0:
                raise StrategyError(f"grid: parameter {name} has no values")
            axes.append([_typed(params[name], value) for value in values])
        names = list(self.values)
        combos = (dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes))
        return _checked(strategy_name, combos)


@dataclass(frozen=True)
class RandomSpace:
    """``samples`` points drawn with ``seed``: each parameter uniform on its (low, high)
    range, inclusive; integers for int parameters, True/False for bool ones. A point
    drawn twice is skipped as a duplicate."""

    ranges: Mapping[str, tuple[Any, Any]]
    samples: int
    seed: int = 0

    def points(self, strategy_name: str) -> Points:
        if not self.ranges:
            raise StrategyError("random: no parameters to vary")
        if self.samples < 1:
            raise StrategyError(f"random: samples {self.samples} must be 1 or more")
        params = _known(strategy_name, self.ranges)
        bounds = {}
        for name, (low, high) in self.ranges.items():
            low, high = _typed(params[name], low), _typed(params[name], high)
            if low > high:
                raise StrategyError(f"random: parameter {name} has low {low} above high {high}")
            bounds[name] = (low, high)
        rng = np.random.default_rng(self.seed)
        candidates = []
        for _ in range(self.samples):
            point = {}
            for name, (low, high) in bounds.items():
                kind = params[name].type
                if kind is bool:
                    point[name] = bool(rng.integers(int(low), int(high) + 1))
                elif kind is int:
                    point[name] = int(rng.integers(low, high + 1))
                else:
                    point[name] = float(rng.uniform(low, high))
            candidates.append(point)
        return _checked(strategy_name, candidates)


Space = Grid | RandomSpace


def space_parse(lines: Iterable[str], *, samples: int | None = None, seed: int = 0) -> Space:
    """A space from text, one parameter a line: ``NAME=v1,v2,...`` gives a :class:`Grid`;
    ``NAME=LOW:HIGH`` a :class:`RandomSpace` of ``samples`` points. Values stay text for
    the strategy to type; StrategyError naming the line that is neither."""
    values: dict[str, list[str]] = {}
    ranges: dict[str, tuple[str, str]] = {}
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, given = (part.strip() for part in line.partition("="))
        if not sep or not name:
            raise StrategyError(
                f"space line {number} {line!r}: expected NAME=v1,v2 or NAME=LOW:HIGH"
            )
        if name in values or name in ranges:
            raise StrategyError(f"space line {number}: parameter {name} given twice")
        if ":" in given:
            low, _, high = (part.strip() for part in given.partition(":"))
            if not low or not high:
                raise StrategyError(f"space line {number} {line!r}: expected NAME=LOW:HIGH")
            ranges[name] = (low, high)
        else:
            values[name] = [v.strip() for v in given.split(",") if v.strip()]
            if not values[name]:
                raise StrategyError(f"space line {number}: no values for {name} ({line!r})")
    if values and ranges:
        raise StrategyError(
            "space: give every parameter as values (a grid) or every one as "
            "LOW:HIGH (random search), not both"
        )
    if ranges:
        if samples is None:
            raise StrategyError("space: random search (NAME=LOW:HIGH) needs a number of samples")
        return RandomSpace(ranges, samples=samples, seed=seed)
    if samples is not None:
        raise StrategyError("space: samples are for random search; give NAME=LOW:HIGH ranges")
    return Grid(values)


def space_loaded(described: Mapping[str, Any]) -> Space:
    """The space :func:`space_described` wrote."""
    if "grid" in described:
        return Grid(described["grid"])
    ranges = {name: tuple(bounds) for name, bounds in described["random"].items()}
    return RandomSpace(ranges, samples=described["samples"], seed=described["seed"])


def space_described(space: Space) -> dict[str, Any]:
    """The space as JSON holds it: ``{"grid": {...}}`` or ``{"random": {...}, "samples",
    "seed"}``."""
    if isinstance(space, Grid):
        return {"grid": {name: list(values) for name, values in space.values.items()}}
    ranges = {name: [low, high] for name, (low, high) in space.ranges.items()}
    return {"random": ranges, "samples": space.samples, "seed": space.seed}


# --- evaluation in worker processes -----------------------------------------------------

# What each worker holds: set once by the initializer (with fork, inherited, not pickled).
_SHARED: dict[str, Any] = {}


def _worker_init(strategy_name: str, bars: BarsLike, options: dict[str, Any]) -> None:
    _SHARED.update(strategy=strategy_name, bars=bars, options=options)


def _slice(bars: BarsLike, start: int, stop: int) -> BarsLike:
    if isinstance(bars, tuple):
        return tuple(leg.between(start, stop) for leg in bars)
    return bars.between(start, stop)


def _length(bars: BarsLike) -> int:
    return len(bars[0]) if isinstance(bars, tuple) else len(bars)


def _evaluate(task: tuple[int, dict[str, Any], int, int]) -> tuple[int, dict[str, Any]]:
    """Backtest one point on bars[start:stop] of the shared bars (fitted on them first)."""
    index, params, start, stop = task
    strategy = strategy_make(_SHARED["strategy"], params)
    bars = _slice(_SHARED["bars"], start, stop)
    strategy.fit(bars)
    return index, backtest(strategy, bars, **_SHARED["options"]).metrics


def _context() -> multiprocessing.context.BaseContext:
    # fork shares the bars and the registry for free; elsewhere spawn (bars pickled once
    # per worker by the initializer's arguments).
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    return multiprocessing.get_context(method)


class _Evaluator:
    """Runs tasks in this process or in a pool whose workers hold the bars."""

    def __init__(
        self, strategy_name: str, bars: BarsLike, options: dict[str, Any], processes: int
    ) -> None:
        self.processes = max(1, processes)
        self.state = (strategy_name, bars, options)
        self.pool = None

    def __enter__(self) -> _Evaluator:
        if self.processes > 1:
            self.pool = _context().Pool(self.processes, _worker_init, self.state)
        else:
            self.saved = dict(_SHARED)
            _worker_init(*self.state)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool.join()
        else:
            _SHARED.clear()
            _SHARED.update(self.saved)

    def run(self, points: list[dict[str, Any]], start: int, stop: int) -> list[dict[str, Any]]:
        tasks = [(i, point, start, stop) for i, point in enumerate(points)]
        if self.pool is None:
            done = map(_evaluate, tasks)
        else:
            chunk = max(1, math.ceil(len(tasks) / (self.processes * 4)))
            done = self.pool.imap_unordered(_evaluate, tasks, chunksize=chunk)
        metrics: list[dict[str, Any]] = [{}] * len(tasks)
        for index, result in done:
            metrics[index] = result
        return metrics


# --- optimisation -----------------------------------------------------------------------


@dataclass
class Evaluation:
    """One point's metrics; ``objective`` is the ranking metric's value (None: undefined)."""

    params: dict[str, Any]
    metrics: dict[str, Any]
    objective: float | None


@dataclass
class Optimisation:
    """The points ranked best first, and the ones skipped with the reason."""

    objective: str
    ranked: list[Evaluation]
    skipped: list[tuple[dict[str, Any], str]]

    @property
    def best(self) -> Evaluation:
        return self.ranked[0]


def _objective_checked(objective: str) -> None:
    if objective not in OBJECTIVES:
        raise StrategyError(f"objective {objective!r}: choose one of {', '.join(OBJECTIVES)}")


def _ranked(objective: str, points: list[dict], metrics: list[dict]) -> list[Evaluation]:
    """Best first; None last; ties by the point's order in the space (stable)."""
    sign = 1.0 if objective in SMALLER_IS_BETTER else -1.0
    evaluations = [
        Evaluation(params=p, metrics=m, objective=m.get(objective))
        for p, m in zip(points, metrics, strict=True)
    ]
    order = sorted(
        range(len(evaluations)),
        key=lambda i: (
            evaluations[i].objective is None,
            0.0 if evaluations[i].objective is None else sign * evaluations[i].objective,
            i,
        ),
    )
    return [evaluations[i] for i in order]


def _processes(processes: int | None) -> int:
    if processes is None:
        return os.cpu_count() or 1
    if processes < 1:
        raise StrategyError(f"processes {processes} must be 1 or more")
    return int(processes)


def optimise(
    strategy_name: str,
    bars: BarsLike,
    space: Space,
    *,
    objective: str = "sharpe",
    processes: int | None = None,
    **engine_options: Any,
) -> Optimisation:
    """Backtest every valid point of ``space`` on ``bars`` (each fitted on them first) in
    ``processes`` processes (default: one per CPU; 1 runs here) and rank them by
    ``objective``. ``engine_options`` go to :func:`strategies.engine.backtest`.
    StrategyError when no point is valid."""
    _objective_checked(objective)
    points = space.points(strategy_name)
    if not points.valid:
        raise StrategyError(f"{strategy_name}: no valid point in the space ({_why(points)})")
    with _Evaluator(strategy_name, bars, engine_options, _processes(processes)) as evaluator:
        metrics = evaluator.run(points.valid, 0, _length(bars))
    return Optimisation(objective, _ranked(objective, points.valid, metrics), points.skipped)


def _why(points: Points) -> str:
    if not points.skipped:
        return "it is empty"
    return f"{len(points.skipped)} skipped, e.g. {points.skipped[0][1]}"


# --- no peeking -------------------------------------------------------------------------


def peek_check(strategy: Strategy, bars: BarsLike, cuts: Iterable[int]) -> list[int]:
    """The cuts t at which the targets of the first t + 1 bars differ from the same bars'
    targets computed from all of ``bars``: each is a bar whose decision saw the future.
    An empty list: no peeking seen at those cuts."""
    full = np.asarray(strategy.targets(bars))
    n = _length(bars)
    found = []
    for t in sorted(set(cuts)):
        if not 0 <= t < n:
            raise StrategyError(f"peek check: cut {t} is outside the {n} bars")
        if not np.array_equal(full[: t + 1], strategy.targets(_slice(bars, 0, t + 1))):
            found.append(t)
    return found


def _peek_cuts(first: int, stop: int, count: int, seed: int) -> list[int]:
    """Cuts over bars first .. stop - 1: its first two and last two, and ``count`` more
    drawn with ``seed``."""
    edges = {first, first + 1, stop - 2, stop - 1}
    drawn = np.random.default_rng(seed).integers(first, stop, count).tolist()
    return sorted(t for t in {*edges, *drawn} if first <= t < stop)


# --- walk-forward -----------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Bar indices of one window, as slices: in-sample [is_start, is_stop), out-of-sample
    [oos_start, oos_stop), with is_stop == oos_start."""

    index: int
    is_start: int
    is_stop: int
    oos_start: int
    oos_stop: int


def windows_make(
    n: int,
    *,
    windows: int,
    in_sample: int | None = None,
    out_of_sample: int | None = None,
    anchored: bool = False,
) -> list[Window]:
    """The windows over ``n`` bars, placed so that the last out-of-sample bar is the last
    bar. Rolling: every in-sample window has ``in_sample`` bars and moves on by
    ``out_of_sample``; anchored: every one starts where the first does and grows by
    ``out_of_sample``. Out-of-sample segments follow each other without gap or overlap.

    Defaults: ``out_of_sample`` = (n - in_sample) // windows when ``in_sample`` is given,
    else n // (windows + 4) with ``in_sample`` four times it; ``in_sample`` = the bars
    left before the first out-of-sample segment."""
    if windows < 1:
        raise StrategyError(f"windows: {windows} must be 1 or more")
    if out_of_sample is None:
        if in_sample is None:
            out_of_sample = n // (windows + 4)
            in_sample = 4 * out_of_sample
        else:
            out_of_sample = (n - in_sample) // windows
    if in_sample is None:
        in_sample = n - windows * out_of_sample
    if in_sample < 2 or out_of_sample < 2:
        raise StrategyError(
            f"windows: in-sample {in_sample} and out-of-sample {out_of_sample} bars must each "
            f"be 2 or more ({n} bars for {windows} windows)"
        )
    need = in_sample + windows * out_of_sample
    if need > n:
        raise StrategyError(
            f"windows: {windows} windows of {out_of_sample} out-of-sample bars after "
            f"{in_sample} in-sample need {need} bars; there are {n}"
        )
    offset = n - need
    made = []
    for k in range(windows):
        oos_start = offset + in_sample + k * out_of_sample
        is_start = offset if anchored else oos_start - in_sample
        made.append(Window(k, is_start, oos_start, oos_start, oos_start + out_of_sample))
    return made


@dataclass
class WindowReport:
    """One window: its bounds (indices and the bars' labels), the chosen parameters and
    their in-sample and out-of-sample metrics."""

    window: Window
    labels: dict[str, str]  # is_first, is_last, oos_first, oos_last
    params: dict[str, Any]
    in_sample: dict[str, Any]
    out_of_sample: dict[str, Any]
    points: int  # the points evaluated in-sample


@dataclass
class WalkForward:
    """The windows, the stitched out-of-sample run and the degradation figures."""

    strategy: str
    objective: str
    anchored: bool
    boundary: str
    windows: list[WindowReport]
    oos_start: int  # index of the first out-of-sample bar in the input
    oos_equity: np.ndarray  # one value per out-of-sample bar, stitched
    oos_labels: tuple[str, ...]
    oos_metrics: dict[str, Any]
    degradation: dict[str, dict[str, Any]]
    skipped: list[tuple[dict[str, Any], str]]
    oos_trades: list[Trade] = field(default_factory=list)  # indices into the OOS bars
    oos_open_position: dict[str, Any] | None = None


def _labels_of(bars: BarsLike) -> tuple[str, ...]:
    first = bars[0] if isinstance(bars, tuple) else bars
    return first.labels or tuple(str(t) for t in first.time)


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None


def degradation_compute(
    in_sample: Sequence[float | None], out_of_sample: Sequence[float | None]
) -> dict[str, Any]:
    """Mean in-sample and mean out-of-sample value over the windows where both are
    defined, their difference (OOS - IS) and ratio (OOS / IS; None when IS is 0 or none)."""
    pairs = [
        (a, b)
        for a, b in zip(in_sample, out_of_sample, strict=True)
        if a is not None and b is not None
    ]
    mean_is = _mean([a for a, _ in pairs])
    mean_oos = _mean([b for _, b in pairs])
    both = mean_is is not None and mean_oos is not None
    return {
        "windows": len(pairs),
        "in_sample_mean": mean_is,
        "out_of_sample_mean": mean_oos,
        "difference": mean_oos - mean_is if both else None,
        "ratio": mean_oos / mean_is if both and mean_is != 0 else None,
    }


def walk_forward(
    strategy_name: str,
    bars: BarsLike,
    space: Space,
    *,
    windows: int = 5,
    in_sample: int | None = None,
    out_of_sample: int | None = None,
    anchored: bool = False,
    objective: str = "sharpe",
    processes: int | None = None,
    boundary: str = "carry",
    peek_cuts: int = 24,
    on_window: Callable[[int, int], None] | None = None,
    **engine_options: Any,
) -> WalkForward:
    """Walk ``strategy_name`` forward over ``bars`` (see the module docstring and
    docs/strategies.md). Per window: every point backtested on the in-sample bars only
    (fitted on them), the best by ``objective`` chosen, fitted on the in-sample bars, and
    its targets for the out-of-sample bars computed over in-sample + out-of-sample bars
    (so the warm-up is the bars before the out-of-sample start, and nothing after the
    window is seen); the chosen strategy is refused (StrategyError) if its targets there
    change when later bars are cut off (:func:`peek_check`). The out-of-sample targets are
    stitched and run once, from ``cash``: ``boundary="carry"`` keeps a position open
    across a window boundary until the next window's rule exits it, ``"flatten"`` makes
    each window's last target 0, so the position is sold at the next window's first open.
    ``on_window(done, total)`` is called after each window is optimised (for progress).
    """
    _objective_checked(objective)
    if boundary not in BOUNDARIES:
        raise StrategyError(f"boundary {boundary!r}: choose one of {', '.join(BOUNDARIES)}")
    points = space.points(strategy_name)
    if not points.valid:
        raise StrategyError(f"{strategy_name}: no valid point in the space ({_why(points)})")
    n = _length(bars)
    made = windows_make(
        n, windows=windows, in_sample=in_sample, out_of_sample=out_of_sample, anchored=anchored
    )
    if engine_options.get("periods_per_year") is None:
        first = bars[0] if isinstance(bars, tuple) else bars
        engine_options["periods_per_year"] = periods_per_year_infer(first.time)
    labels = _labels_of(bars)
    oos_first, oos_stop = made[0].oos_start, made[-1].oos_stop
    pieces, chosen = [], []
    with _Evaluator(strategy_name, bars, engine_options, _processes(processes)) as evaluator:
        for window in made:
            metrics = evaluator.run(points.valid, window.is_start, window.is_stop)
            best = _ranked(objective, points.valid, metrics)[0]
            strategy = strategy_make(strategy_name, best.params)
            strategy.fit(_slice(bars, window.is_start, window.is_stop))
            segment = _slice(bars, window.is_start, window.oos_stop)
            first = window.oos_start - window.is_start
            cuts = _peek_cuts(first, _length(segment), peek_cuts, seed=window.index)
            peeked = peek_check(strategy, segment, cuts)
            if peeked:
                at = window.is_start + peeked[0]
                raise StrategyError(
                    f"{strategy_name} {best.params} peeks: its target at bar {at} "
                    f"({labels[at]}) changes when the bars after it are cut off "
                    f"(window {window.index}); refused"
                )
            targets = np.array(strategy.targets(segment)[first:], dtype=np.float64)
            if boundary == "flatten" and window is not made[-1]:
                targets[-1] = 0.0
            pieces.append(targets)
            chosen.append(best)
            if on_window is not None:
                on_window(len(chosen), len(made))

    stitched = np.concatenate(pieces)
    oos_bars = _slice(bars, oos_first, oos_stop)
    # backtest() allows shorts for a strategy that declares them; the stitched run too.
    stitched_options = dict(engine_options)
    stitched_options["shorts"] = bool(engine_options.get("shorts")) or strategy.shorts
    result = backtest_targets(stitched, oos_bars, **stitched_options)
    held = stitched != 0 if stitched.ndim == 1 else np.any(stitched != 0, axis=1)
    in_market = np.zeros(len(stitched), dtype=bool)
    in_market[1:] = held[:-1]  # the position during bar t is the target of bar t - 1
    reports = []
    for window, best in zip(made, chosen, strict=True):
        lo, hi = window.oos_start - oos_first, window.oos_stop - oos_first
        # From the equity before the window's first bar (the previous window's last; the
        # cash for the first window, whose first equity is the cash), one value a bar.
        equity = result.equity[max(lo - 1, 0) : hi]
        trades = [t for t in result.trades if lo <= t.exit_index < hi]
        oos = metrics_compute(
            equity=equity, trades=trades, exposure=float(in_market[lo:hi].mean()),
            periods_per_year=engine_options["periods_per_year"],
        )  # fmt: skip
        reports.append(
            WindowReport(
                window=window,
                labels={
                    "is_first": labels[window.is_start],
                    "is_last": labels[window.is_stop - 1],
                    "oos_first": labels[window.oos_start],
                    "oos_last": labels[window.oos_stop - 1],
                },
                params=best.params,
                in_sample=best.metrics,
                out_of_sample=oos,
                points=len(points.valid),
            )
        )
    measured = dict.fromkeys((objective, *DEGRADATION_METRICS))
    degradation = {
        metric: degradation_compute(
            [r.in_sample.get(metric) for r in reports],
            [r.out_of_sample.get(metric) for r in reports],
        )
        for metric in measured
    }
    return WalkForward(
        strategy=strategy_name, objective=objective, anchored=anchored, boundary=boundary,
        windows=reports, oos_start=oos_first, oos_equity=result.equity,
        oos_labels=labels[oos_first:oos_stop], oos_metrics=result.metrics,
        degradation=degradation, skipped=points.skipped, oos_trades=result.trades,
        oos_open_position=result.open_position,
    )  # fmt: skip
