"""A backtest's metrics, from its equity curve and closed trades (docs/strategies.md,
"Metrics"). A ratio with nothing to divide by is None, never inf or NaN.

- Per-bar returns r[t] = equity[t] / equity[t - 1] - 1, for t = 1 .. n - 1.
- total_return = equity[-1] / equity[0] - 1.
- cagr = (equity[-1] / equity[0]) ** (P / (n - 1)) - 1, P periods a year.
- sharpe = mean(r) / std(r, ddof=1) x sqrt(P), risk-free rate 0.
- sortino = mean(r) / sqrt(mean(min(r, 0) ** 2)) x sqrt(P), the downside over all returns.
- max_drawdown_pct: the largest fall from a running peak of the equity (on closes), in
  percent of that peak, as a positive number (0 when it never fell).
- profit_factor = gross profit / gross loss of closed trades; win_rate = trades with
  pnl > 0 / trades (a zero pnl is not a win); exposure = bars in the market / bars.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from strategies.base import StrategyError, Trade

DAILY = 252.0
SESSION_MINUTES = 375  # NSE cash session 09:15-15:30
MINUTE = DAILY * SESSION_MINUTES
WEEKLY = 52.0


def periods_per_year_infer(time: np.ndarray) -> float:
    """Bars a year from the bars' typical (median) spacing: 252 for daily bars (weekends
    and holidays between them), 52 for weekly, 252 x 375 / minutes for intraday bars
    (252 x 375 for one-minute bars). 252 when there are too few bars to tell. The first
    10,001 bars tell it."""
    if len(time) < 2:
        return DAILY
    steps = np.diff(np.asarray(time[:10_001]).astype("datetime64[s]").astype(np.int64))
    minutes = float(np.median(steps)) / 60.0
    if minutes >= 5 * 24 * 60:
        return WEEKLY
    if minutes >= 12 * 60:
        return DAILY
    if minutes <= 0:
        raise StrategyError("bars: times are not increasing")
    return DAILY * SESSION_MINUTES / minutes


def _ratio(top: float, bottom: float) -> float | None:
    if bottom == 0 or not math.isfinite(top) or not math.isfinite(bottom):
        return None
    value = top / bottom
    return value if math.isfinite(value) else None


def metrics_compute(
    *,
    equity: np.ndarray,
    trades: Sequence[Trade],
    exposure: float,
    periods_per_year: float,
) -> dict[str, float | int | None]:
    """The metrics of one run (module docstring); None where a ratio is undefined.
    ``exposure`` is the fraction of bars in the market, which the engine knows."""
    equity = np.asarray(equity, dtype=np.float64)
    n = len(equity)
    if n == 0:
        raise StrategyError("metrics: the equity curve is empty")
    if not periods_per_year > 0:
        raise StrategyError(f"periods_per_year {periods_per_year!r} must be above 0")
    first, last = float(equity[0]), float(equity[-1])
    growth = _ratio(last, first)
    total_return = None if growth is None else growth - 1.0

    cagr = None
    if growth is not None and growth > 0 and n > 1 and first > 0:
        try:
            cagr = growth ** (periods_per_year / (n - 1)) - 1.0
        except OverflowError:
            cagr = None
        cagr = cagr if cagr is not None and math.isfinite(cagr) else None

    # Few passes over the curve, in place: it is as long as the bars.
    positive = bool(equity.min() > 0)
    sharpe = sortino = None
    scratch = np.empty(max(n - 1, 0))
    if n > 2 and (positive or bool(np.all(equity[:-1] > 0))):
        returns = np.divide(equity[1:], equity[:-1], out=scratch)
        returns -= 1.0
        mean = float(returns.mean())
        root = math.sqrt(periods_per_year)
        downside = np.minimum(returns, 0.0)
        downside = math.sqrt(float(np.dot(downside, downside)) / (n - 1))
        returns -= mean
        std = math.sqrt(float(np.dot(returns, returns)) / (n - 2))
        ratio = _ratio(mean, std)
        sharpe = None if ratio is None else ratio * root
        ratio = _ratio(mean, downside)
        sortino = None if ratio is None else ratio * root

    peak = np.maximum.accumulate(equity)
    if positive:
        worst = 1.0 - float(np.divide(equity, peak, out=peak).min())
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            falls = np.where(peak > 0, (peak - equity) / peak, 0.0)
        worst = float(falls.max())
    max_drawdown_pct = max(worst, 0.0) * 100.0

    pnl = np.fromiter((trade.pnl for trade in trades), dtype=np.float64, count=len(trades))
    gross_profit = float(pnl[pnl > 0].sum())
    gross_loss = float(-pnl[pnl < 0].sum())
    return {
        "num_trades": len(pnl),
        "total_pnl": float(pnl.sum()),
        "final_equity": last,
        "total_return": total_return,
        "cagr": cagr,
        "sharpe": sharpe,
        "sortino": sortino,
        "max_drawdown_pct": max_drawdown_pct,
        "profit_factor": _ratio(gross_profit, gross_loss),
        "win_rate": _ratio(float((pnl > 0).sum()), float(len(pnl))),
        "exposure": float(exposure),
        "periods_per_year": float(periods_per_year),
    }
