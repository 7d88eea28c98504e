"""Pictures of backtest runs, as PNG bytes (matplotlib's Agg canvas, no display needed):

- :func:`run_chart_png`: a run's equity (top) and drawdown (bottom) on one date axis;
- :func:`compare_chart_png`: several runs' equity as a return on their cash, on one chart.

Dates are shown in IST. Intraday bars are drawn one after another on a session axis
(nights, weekends and holidays left out, each session's start marked), so a week of
minutes is not mostly the flat lines of its nights. Long series are reduced to the low
and high of each of at most :data:`MAX_POINTS` buckets, so a million minute bars draw as
fast as a year of days and every peak and trough stays in the picture.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterable

import matplotlib

matplotlib.use("Agg")  # before pyplot could be imported anywhere: no display on servers

import matplotlib.dates as mdates
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, Formatter, FuncFormatter

from marketdata.calendar import IST
from strategies.models import BacktestRun

MAX_POINTS = 2000
DPI = 100
EQUITY_COLOUR = "#1f5fa8"
DRAWDOWN_COLOUR = "#c0392b"


def _reduced(times: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At most 2 x MAX_POINTS points: each bucket's low and high, in the order they came."""
    n = len(values)
    if n <= 2 * MAX_POINTS:
        return times, values
    edges = np.linspace(0, n, MAX_POINTS + 1).astype(np.int64)
    keep = []
    for lo, hi in itertools.pairwise(edges):
        chunk = values[lo:hi]
        a, b = lo + int(np.argmin(chunk)), lo + int(np.argmax(chunk))
        keep += sorted({a, b})
    index = np.asarray(keep, dtype=np.int64)
    return times[index], values[index]


def _date_axis(axis) -> None:
    locator = mdates.AutoDateLocator(tz=IST, minticks=4, maxticks=9)
    axis.xaxis.set_major_locator(locator)
    axis.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=IST))


def _session_axis(axes, when: np.ndarray) -> None:
    """Bar numbers as the x axis of ``axes`` (the last one labelled): a tick at the first bar
    of each IST session (at most ten), labelled with its date, and a faint line between
    sessions."""
    local = when.astype("datetime64[m]") + np.timedelta64(330, "m")
    days = local.astype("datetime64[D]")
    starts = np.flatnonzero(np.concatenate(([True], days[1:] != days[:-1])))
    for axis in axes:
        for start in starts[1:]:
            axis.axvline(start - 0.5, color="#bbbbbb", linewidth=0.6)
    shown = starts[:: max(1, -(-len(starts) // 10))]
    last = axes[-1]
    last.xaxis.set_major_locator(FixedLocator(shown))
    last.xaxis.set_major_formatter(
        FuncFormatter(lambda x, pos: str(days[min(max(round(x), 0), len(days) - 1)]))
    )
    last.set_xlabel("IST sessions, bar by bar (nights and holidays left out)")


def _indian(value: float, places: int) -> str:
    """``value`` grouped the Indian way: 12,34,567.50."""
    text = f"{abs(value):.{places}f}"
    whole, _, fraction = text.partition(".")
    head, tail = whole[:-3], whole[-3:]
    groups = [head[max(0, i - 2) : i] for i in range(len(head), 0, -2)][::-1]
    grouped = ",".join([*groups, tail]) if head else tail
    return ("-" if value < 0 else "") + grouped + (f".{fraction}" if fraction else "")


def _decimals(step: float) -> int:
    """The fewest decimals (up to 3) that write ``step`` exactly: 0.25 -> 2, 50 -> 0."""
    for places in range(3):
        if abs(round(step, places) - step) <= 1e-9 * max(1.0, abs(step)):
            return places
    return 3


class RupeeFormatter(Formatter):
    """Rupees for the whole axis in one unit: crore or lakh (by the largest tick) when two
    decimals of it tell the ticks apart, else rupees grouped the Indian way; as many
    decimals as the ticks' step needs."""

    unit, suffix, places = 1.0, "", 0

    def set_locs(self, locs) -> None:
        super().set_locs(locs)
        locs = np.asarray(locs, dtype=np.float64)
        if not len(locs):
            return
        largest = float(np.max(np.abs(locs))) or 1.0
        step = float(np.min(np.diff(locs))) if len(locs) > 1 else largest
        for unit, suffix in ((1e7, " cr"), (1e5, " L"), (1.0, "")):
            if largest >= unit or unit == 1.0:
                places = _decimals(step / unit)
                if places <= 2 or unit == 1.0:
                    self.unit, self.suffix, self.places = unit, suffix, min(places, 2)
                    return

    def __call__(self, value: float, pos=None) -> str:
        return f"₹{_indian(value / self.unit, self.places)}{self.suffix}"


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def equity_chart_png(
    *, times: np.ndarray, equity: np.ndarray, drawdown: np.ndarray, title: str
) -> bytes:
    """Equity over drawdown (percent below the running peak), sharing the date axis."""
    if not len(times) or len(times) != len(equity) or len(equity) != len(drawdown):
        raise ValueError(
            f"a chart needs one equity and one drawdown value per bar: {len(times)} times, "
            f"{len(equity)} equity, {len(drawdown)} drawdown"
        )
    when = np.asarray(times, dtype="datetime64[us]")
    intraday = len(when) > 1 and np.median(np.diff(when)) < np.timedelta64(1, "D")
    x = np.arange(len(when)) if intraday else when
    figure = Figure(figsize=(10, 6), layout="constrained")
    top, bottom = figure.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.3]}
    )  # fmt: skip
    t, e = _reduced(x, np.asarray(equity, dtype=np.float64))
    top.plot(t, e, color=EQUITY_COLOUR, linewidth=1.2)
    top.axhline(float(equity[0]), color="#888888", linewidth=0.8, linestyle="--")
    top.set_ylabel("Equity")
    top.yaxis.set_major_formatter(RupeeFormatter())
    top.set_title(title, loc="left", fontsize=11)
    top.grid(True, alpha=0.3)
    top.margins(x=0)
    t, d = _reduced(x, np.asarray(drawdown, dtype=np.float64))
    bottom.fill_between(t, d, 0, color=DRAWDOWN_COLOUR, alpha=0.35, linewidth=0)
    bottom.plot(t, d, color=DRAWDOWN_COLOUR, linewidth=0.9)
    worst = float(np.min(drawdown))
    low = min(worst * 1.1, -1.0)
    bottom.set_ylim(low, -low * 0.04)
    bottom.set_ylabel("Drawdown %")
    bottom.set_title(
        f"max drawdown {worst:.2f}%", loc="right", fontsize=9, color=DRAWDOWN_COLOUR, pad=3
    )
    bottom.grid(True, alpha=0.3)
    if intraday:
        _session_axis((top, bottom), when)
    else:
        _date_axis(bottom)
        bottom.set_xlabel("IST")
    return _png(figure)


def run_title(run: BacktestRun) -> str:
    if run.kind == BacktestRun.Kind.WALK_FORWARD:
        return f"#{run.pk} {run.strategy} walk-forward, out of sample · {run.data_label}"
    params = ", ".join(f"{k}={v}" for k, v in run.params.items())
    return f"#{run.pk} {run.strategy}({params}) · {run.data_label}"


def run_chart_png(run: BacktestRun) -> bytes:
    """A succeeded run's equity and drawdown chart."""
    if run.status != BacktestRun.Status.SUCCEEDED:
        raise ValueError(f"backtest {run.pk} is {run.status}: it has no equity to chart")
    return equity_chart_png(
        times=run.times, equity=run.equity, drawdown=run.drawdown, title=run_title(run)
    )


def compare_chart_png(runs: Iterable[BacktestRun]) -> bytes:
    """Several succeeded runs' equity, each as percent return on its own cash."""
    runs = [r for r in runs if r.status == BacktestRun.Status.SUCCEEDED]
    if not runs:
        raise ValueError("no succeeded runs to compare")
    figure = Figure(figsize=(10, 5), layout="constrained")
    axis = figure.subplots()
    for run in runs:
        equity = run.equity
        t, r = _reduced(run.times, (equity / float(run.cash) - 1.0) * 100.0)
        axis.plot(t, r, linewidth=1.2, label=run_title(run)[:90])
    axis.axhline(0.0, color="#888888", linewidth=0.8, linestyle="--")
    axis.set_ylabel("Return on cash %")
    axis.set_title("Backtests compared", loc="left", fontsize=11)
    axis.grid(True, alpha=0.3)
    axis.legend(loc="upper left", fontsize=8, frameon=False)
    _date_axis(axis)
    axis.set_xlabel("IST")
    return _png(figure)
