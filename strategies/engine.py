"""The backtest engine: targets decided at each close, filled at the next bar's open.

The rules (docs/strategies.md, "The engine"), the same as the live path's:

- A strategy's target for bar t is decided at bar t's close and filled at bar t + 1's
  open, so the position held during bar t is the target of bar t - 1 (flat during bar 0).
  A change of target on the last bar is never filled.
- A target is -1, 0 or 1 times the fixed quantity. Long only unless shorts are allowed.
- Each fill pays ``commission_pct`` percent of its value, on entry and on exit, plus what
  the optional ``costs`` callable charges for it; slippage moves every fill's price
  against the trader by ``slippage_bps``.
- equity[t] = cash after bar t's fills + shares x close[t]; equity[0] is the cash.
- End of data is not an exit: a position still open is marked to the last close and
  reported as ``open_position``, never as a trade.
- Trade pnl = (exit - entry) x quantity - both sides' costs. A reversal (1 to -1) is the
  exit of one trade and the entry of the next at the same open.

Every path is vectorised: a trade is a run of bars holding the same non-zero target, so
entries and exits are where the held position changes, paired in order. Only the
``costs`` callable is called once per fill, in Python.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from strategies.base import BacktestResult, Bars, Strategy, StrategyError, Trade
from strategies.metrics import metrics_compute, periods_per_year_infer

#: (side "BUY"/"SELL", quantity > 0, price, bar_time as numpy datetime64) -> rupees
Costs = Callable[[str, int, float, np.datetime64], float]


def backtest(
    strategy: Strategy,
    bars: Bars | tuple[Bars, ...],
    *,
    quantity: int | Sequence[int] = 1,
    cash: float = 1_000_000.0,
    commission_pct: float = 0.0,
    slippage_bps: float = 0.0,
    costs: Costs | None = None,
    shorts: bool = False,
    periods_per_year: float | None = None,
) -> BacktestResult:
    """Backtest ``strategy`` on ``bars``: its targets through :func:`backtest_targets`.

    Shorts are allowed when ``shorts`` is set or the strategy declares them.
    """
    if strategy.legs > 1 and (not isinstance(bars, tuple) or len(bars) != strategy.legs):
        raise StrategyError(f"{strategy.name} trades {strategy.legs} legs: give a tuple of bars")
    return backtest_targets(
        strategy.targets(bars),
        bars,
        quantity=quantity,
        cash=cash,
        commission_pct=commission_pct,
        slippage_bps=slippage_bps,
        costs=costs,
        shorts=shorts or strategy.shorts,
        periods_per_year=periods_per_year,
    )


def backtest_targets(
    targets: np.ndarray,
    bars: Bars | tuple[Bars, ...],
    *,
    quantity: int | Sequence[int] = 1,
    cash: float = 1_000_000.0,
    commission_pct: float = 0.0,
    slippage_bps: float = 0.0,
    costs: Costs | None = None,
    shorts: bool = False,
    periods_per_year: float | None = None,
) -> BacktestResult:
    """The engine: ``targets`` of shape (n,) for one Bars, or (n, legs) for a tuple of
    Bars on one time grid; see the module docstring for the rules."""
    legs = _legs(bars)
    n = len(legs[0])
    held = _held(targets, n, len(legs), shorts)
    quantities = _quantities(quantity, len(legs))
    if not np.isfinite(cash):
        raise StrategyError(f"cash {cash!r} is not a finite number")
    for name, value in (("commission_pct", commission_pct), ("slippage_bps", slippage_bps)):
        if not np.isfinite(value) or value < 0:
            raise StrategyError(f"{name} {value!r} must be a finite number, 0 or more")

    flows = np.zeros(n)
    market_value = np.zeros(n)
    trades: list[Trade] = []
    open_legs: list[dict[str, Any]] = []
    for leg, (leg_bars, leg_held, leg_quantity) in enumerate(
        zip(legs, held.T, quantities, strict=True)
    ):
        leg_trades, leg_open = _leg_run(
            leg, leg_bars, leg_held, leg_quantity, flows, commission_pct, slippage_bps, costs
        )
        trades.extend(leg_trades)
        if leg_open is not None:
            open_legs.append(leg_open)
        market_value += leg_held * leg_quantity * leg_bars.close
    if len(legs) > 1:
        trades.sort(key=lambda trade: (trade.exit_index, trade.leg))

    equity = cash + np.cumsum(flows) + market_value
    open_position: dict[str, Any] | None
    if not open_legs:
        open_position = None
    elif len(legs) == 1:
        open_position = open_legs[0]
    else:
        open_position = {
            "legs": open_legs,
            "unrealised_pnl": float(sum(leg["unrealised_pnl"] for leg in open_legs)),
        }
    in_market = np.any(held != 0, axis=1)
    if periods_per_year is None:
        periods_per_year = periods_per_year_infer(legs[0].time)
    metrics = metrics_compute(
        equity=equity, trades=trades, in_market=in_market, periods_per_year=periods_per_year
    )
    return BacktestResult(
        trades=trades, equity=equity, open_position=open_position, metrics=metrics
    )


def _legs(bars: Bars | tuple[Bars, ...]) -> tuple[Bars, ...]:
    legs = bars if isinstance(bars, tuple) else (bars,)
    if not legs or not all(isinstance(leg, Bars) for leg in legs):
        raise StrategyError("bars: expected Bars or a tuple of Bars")
    if len(legs[0]) == 0:
        raise StrategyError("bars: there are none")
    for i, leg in enumerate(legs[1:], start=1):
        if len(leg) != len(legs[0]) or not np.array_equal(leg.time, legs[0].time):
            raise StrategyError(f"bars: leg {i} ({leg.symbol}) is not on leg 0's time grid")
    return legs


def _held(targets: np.ndarray, n: int, legs: int, shorts: bool) -> np.ndarray:
    """The position held during each bar, in units, shape (n, legs): the target of the
    bar before (the fill is at this bar's open), flat during bar 0."""
    given = np.asarray(targets, dtype=np.float64)
    targets = given[:, None] if given.ndim == 1 and legs == 1 else given
    if targets.shape != (n, legs):
        want = f"({n},)" if legs == 1 else f"({n}, {legs})"
        raise StrategyError(f"targets: shape {given.shape}, expected {want}")
    low = -1.0 if shorts else 0.0
    bad = ~((targets == 0.0) | (targets == 1.0) | (targets == low))
    if bad.any():
        row, leg = np.argwhere(bad)[0]
        allowed = "-1, 0 or 1" if shorts else "0 or 1 (shorts are off)"
        where = f"bar {row}" + (f" leg {leg}" if legs > 1 else "")
        raise StrategyError(f"targets: {float(targets[row, leg])!r} at {where}; expected {allowed}")
    held = np.empty_like(targets)
    held[0] = 0.0
    held[1:] = targets[:-1]
    return held


def _quantities(quantity: int | Sequence[int], legs: int) -> list[int]:
    values = [quantity] * legs if isinstance(quantity, int | np.integer) else list(quantity)
    if len(values) != legs:
        raise StrategyError(f"quantity: {len(values)} values for {legs} legs")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
            raise StrategyError(f"quantity {value!r} must be a whole number above 0")
    return [int(value) for value in values]


def _leg_run(
    leg: int,
    bars: Bars,
    held: np.ndarray,
    quantity: int,
    flows: np.ndarray,
    commission_pct: float,
    slippage_bps: float,
    costs: Costs | None,
) -> tuple[list[Trade], dict[str, Any] | None]:
    """One leg's trades; adds its cash flows at each fill bar into ``flows``."""
    before = np.empty_like(held)
    before[0] = 0.0
    before[1:] = held[:-1]
    changed = held != before
    entries = np.flatnonzero(changed & (held != 0.0))
    exits = np.flatnonzero(changed & (before != 0.0))
    if len(entries) == 0:
        return [], None
    # Runs never overlap, so the k-th exit closes the k-th entry; one more entry is open.
    direction = held[entries]
    signed = direction * quantity
    slip = slippage_bps / 10_000.0
    entry_price = bars.open[entries] * (1.0 + direction * slip)
    closed = len(exits)
    exit_price = bars.open[exits] * (1.0 - direction[:closed] * slip)
    rate = commission_pct / 100.0
    entry_cost = quantity * entry_price * rate
    exit_cost = quantity * exit_price * rate
    if costs is not None:
        entry_cost = entry_cost + _charged(costs, direction, quantity, entry_price, bars, entries)
        exit_cost = exit_cost + _charged(
            costs, -direction[:closed], quantity, exit_price, bars, exits
        )
    flows += np.bincount(entries, weights=-signed * entry_price - entry_cost, minlength=len(held))
    flows += np.bincount(
        exits, weights=signed[:closed] * exit_price - exit_cost, minlength=len(held)
    )
    trade_costs = entry_cost[:closed] + exit_cost
    pnl = (exit_price - entry_price[:closed]) * signed[:closed] - trade_costs
    # Positional: a trade per round trip is the one Python object the engine makes.
    trades = list(
        map(
            Trade,
            entries[:closed].tolist(),
            entry_price[:closed].tolist(),
            exits.tolist(),
            exit_price.tolist(),
            signed[:closed].tolist(),
            pnl.tolist(),
            trade_costs.tolist(),
            [leg] * closed,
        )
    )
    if closed == len(entries):
        return trades, None
    i = int(entries[-1])
    last_close = float(bars.close[-1])
    open_position = {
        "leg": leg,
        "symbol": bars.symbol,
        "entry_index": i,
        "entry_label": bars.labels[i] if bars.labels else str(bars.time[i]),
        "entry_price": float(entry_price[-1]),
        "quantity": float(signed[-1]),
        "entry_costs": float(entry_cost[-1]),
        "last_close": last_close,
        # Marked to the last close, net of the entry's costs (the exit's are not yet paid),
        # so final equity = cash + closed trades' pnl + this.
        "unrealised_pnl": float((last_close - entry_price[-1]) * signed[-1] - entry_cost[-1]),
    }
    return trades, open_position


def _charged(
    costs: Costs,
    direction: np.ndarray,
    quantity: int,
    price: np.ndarray,
    bars: Bars,
    at: np.ndarray,
) -> np.ndarray:
    """What ``costs`` charges each fill (a positive direction buys); each fill is an order."""
    charged = np.empty(len(at))
    fills = zip(direction.tolist(), price.tolist(), at.tolist(), strict=True)
    for k, (d, p, i) in enumerate(fills):
        value = float(costs("BUY" if d > 0 else "SELL", quantity, p, bars.time[i]))
        if not np.isfinite(value) or value < 0:
            raise StrategyError(f"costs: {value!r} for the fill at bar {i}; expected 0 or more")
        charged[k] = value
    return charged
