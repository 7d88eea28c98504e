"""The strategy interface: one code path for the backtest and the live deployment.

A strategy is a pure function of bars. Given the bars up to and including bar t, it
decides at bar t's close the position it wants to hold after that bar: its **target**, in
units of the position size (0 flat, 1 long, -1 short where it allows shorting). For every
bar of the input it returns one target (NaN-free, warm-up bars 0), so
``targets(bars)[: t + 1] == targets(bars.prefix(t + 1))`` must hold: a target may depend
only on bars at or before it (a test feeds prefixes to catch a strategy that peeks).

- The backtest engine (``strategies.engine``) turns each change of target into an order
  filled at the next bar's open; a change on the last bar is never filled.
- The live deployment computes the same targets over the bars it has, and acts on the
  target of the bar that just closed through ``orders.services.order_place``.

A strategy of several instruments (``legs > 1``, e.g. ``pairs``) takes a tuple of
:class:`Bars` on one time grid and returns targets of shape ``(n, legs)``.

This module imports no Django: it, the indicators and the engine run without a database.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np


class StrategyError(ValueError):
    """A strategy, parameter or input the engine refuses; the message names it."""


@dataclass(frozen=True)
class Bars:
    """One instrument's bars in time order: float64 arrays of equal length.

    ``time`` is ``datetime64[us]`` in UTC (the bar's start); ``labels`` are the times as
    the source wrote them (echoed in the outputs); ``symbol`` names the instrument.
    """

    time: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    labels: tuple[str, ...] = ()
    symbol: str = ""

    def __post_init__(self) -> None:
        n = len(self.time)
        for name in ("open", "high", "low", "close", "volume"):
            if len(getattr(self, name)) != n:
                raise StrategyError(f"bars: {name} has {len(getattr(self, name))} values, time {n}")
        if self.labels and len(self.labels) != n:
            raise StrategyError(f"bars: {len(self.labels)} labels for {n} bars")

    def __len__(self) -> int:
        return len(self.time)

    def prefix(self, n: int) -> Bars:
        """The first ``n`` bars (what a live deployment has seen after bar n - 1 closed)."""
        return self.between(0, n)

    def between(self, start: int, stop: int) -> Bars:
        """Bars ``start`` to ``stop - 1``, as a slice."""
        return Bars(
            time=self.time[start:stop], open=self.open[start:stop], high=self.high[start:stop],
            low=self.low[start:stop], close=self.close[start:stop],
            volume=self.volume[start:stop], labels=self.labels[start:stop], symbol=self.symbol,
        )  # fmt: skip


@dataclass(frozen=True)
class Param:
    """One typed parameter with its default and bounds (inclusive; None: unbounded)."""

    name: str
    type: type  # int, float or bool
    default: Any
    low: float | None = None
    high: float | None = None
    help: str = ""

    def parse(self, raw: Any) -> Any:
        """``raw`` (a value, or its text from the command line) as this parameter's type;
        StrategyError naming the parameter when it is not one or is out of bounds."""
        try:
            if self.type is bool:
                if isinstance(raw, str):
                    if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                        raise ValueError
                    value = raw.lower() in ("true", "1", "yes")
                else:
                    value = bool(raw)
            elif self.type is int:
                value = int(raw) if not isinstance(raw, float) or raw.is_integer() else None
                if value is None or isinstance(raw, bool):
                    raise ValueError
            else:
                value = float(raw)
                if not math.isfinite(value):
                    raise ValueError
        except (TypeError, ValueError):
            raise StrategyError(
                f"parameter {self.name}: {raw!r} is not {self.type.__name__}"
            ) from None
        if self.low is not None and value < self.low:
            raise StrategyError(f"parameter {self.name}: {value} is below {self.low}")
        if self.high is not None and value > self.high:
            raise StrategyError(f"parameter {self.name}: {value} is above {self.high}")
        return value


class Strategy(ABC):
    """A strategy's rules. Subclasses set the class attributes and :meth:`targets`, and
    register with :func:`register`. Parameters are checked on construction."""

    name: ClassVar[str]
    title: ClassVar[str]
    params: ClassVar[tuple[Param, ...]] = ()
    legs: ClassVar[int] = 1
    intraday: ClassVar[bool] = False  # uses the session clock (bars' times, IST)
    shorts: ClassVar[bool] = False  # may target -1
    beta: ClassVar[bool] = False  # shown as beta in the UI and docs

    def __init__(self, **given: Any) -> None:
        known = {p.name: p for p in self.params}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise StrategyError(
                f"{self.name} has no parameter {', '.join(unknown)} "
                f"(it takes {', '.join(known) or 'none'})"
            )
        self.values: dict[str, Any] = {
            name: p.parse(given[name]) if name in given else p.default for name, p in known.items()
        }
        self.check()

    def check(self) -> None:  # noqa: B027 - a hook: most strategies check nothing more
        """Refuse (StrategyError) parameters that are valid alone but not together."""

    def fit(self, bars: Bars | tuple[Bars, ...]) -> None:  # noqa: B027 - a hook
        """Learn from ``bars`` (in-sample only; the walk-forward calls it per window).
        Rule-based strategies learn nothing."""

    @abstractmethod
    def targets(self, bars: Bars | tuple[Bars, ...]) -> np.ndarray:
        """One target per bar (shape ``(n,)``, or ``(n, legs)``), decided at each close."""

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("values", {})
        if name in values:
            return values[name]
        raise AttributeError(name)


STRATEGIES: dict[str, type[Strategy]] = {}


def register(cls: type[Strategy]) -> type[Strategy]:
    """Add ``cls`` to :data:`STRATEGIES` (a class decorator)."""
    STRATEGIES[cls.name] = cls
    return cls


def strategy_make(name: str, params: dict[str, Any] | None = None) -> Strategy:
    """The strategy ``name`` with ``params`` checked; StrategyError naming an unknown one."""
    import strategies.catalogue  # noqa: F401  (registers every strategy)

    try:
        cls = STRATEGIES[name]
    except KeyError:
        raise StrategyError(
            f"no strategy {name!r} (choose one of {', '.join(sorted(STRATEGIES))})"
        ) from None
    return cls(**(params or {}))


@dataclass
class Trade:
    """A closed round trip (an open position at the end of the data is not one)."""

    entry_index: int
    entry_price: float
    exit_index: int
    exit_price: float
    quantity: float  # negative for a short
    pnl: float  # (exit - entry) x quantity - both sides' costs
    costs: float = 0.0
    leg: int = 0


@dataclass
class BacktestResult:
    """What the engine gives back: trades, one equity value per input bar, the open
    position at the end (or None) and the metrics (``strategies.metrics``; None where a
    ratio is undefined)."""

    trades: list[Trade]
    equity: np.ndarray
    open_position: dict[str, Any] | None
    metrics: dict[str, float | int | None] = field(default_factory=dict)
