"""The backtest engine: targets decided at each close, filled at the next bar's open.

The rules (docs/strategies.md, "The engine"), the same as the live path's:

- A strategy's target for bar t is decided at bar t's close and filled at bar t + 1's
  open, so the position held during bar t is the target of bar t - 1 (flat during bar 0).
  A change of target on the last bar is never filled.
- A target is -1, 0 or 1 times the fixed quantity. Long only unless shorts are allowed.
  With :class:`RiskSizing` (one instrument only) each entry's quantity is sized instead
  at its decision bar's close: the shares whose loss at a stop ``stop_atr`` ATRs away is
  ``risk_pct`` % of the equity then (``risk.sizing``), at most what that equity buys; an
  entry that sizes to nothing (ATR still warming up, equity gone) is not taken, and its
  exit is not one either.
- Each fill pays ``commission_pct`` percent of its value, on entry and on exit, plus what
  the optional ``costs`` callable charges for it; slippage moves every fill's price
  against the trader by ``slippage_bps``.
- equity[t] = cash after bar t's fills + shares x close[t]; equity[0] is the cash.
- End of data is not an exit: a position still open is marked to the last close and
  reported as ``open_position``, never as a trade.
- Trade pnl = (exit - entry) x quantity - both sides' costs. A reversal (1 to -1) is the
  exit of one trade and the entry of the next at the same open.

Nothing steps bar by bar: a trade is a run of bars holding the same non-zero target, so
the engine works from the bars where a target changes (entries and exits, paired in
order), and cash is constant between fills. Only the ``costs`` callable is called in
Python, once per fill.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from strategies.base import BacktestResult, Bars, Strategy, StrategyError, Trade
from strategies.metrics import metrics_compute, periods_per_year_infer
from strategies.sizing import ATR_PERIOD

#: (side "BUY"/"SELL", quantity > 0, price, bar_time as numpy datetime64) -> rupees
Costs = Callable[[str, int, float, np.datetime64], float]


@dataclass(frozen=True)
class RiskSizing:
    """Size each entry so that a stop ``stop_atr`` ATR(``atr_period``)s from its decision
    bar's close risks ``risk_pct`` % of the equity at that close (the 2 % rule of
    ``risk.sizing``), capped at the whole shares that equity buys at that close. The stop
    sizes the position; exits stay the strategy's."""

    risk_pct: float = 2.0
    stop_atr: float = 2.0
    atr_period: int = ATR_PERIOD

    def __post_init__(self) -> None:
        if not (np.isfinite(self.risk_pct) and 0 < self.risk_pct <= 100):
            raise StrategyError(f"risk_pct {self.risk_pct!r} must be above 0 and at most 100")
        if not (np.isfinite(self.stop_atr) and self.stop_atr > 0):
            raise StrategyError(f"stop_atr {self.stop_atr!r} must be a number above 0")
        if (
            isinstance(self.atr_period, bool)
            or not isinstance(self.atr_period, int)
            or not (1 <= self.atr_period <= 1000)
        ):
            raise StrategyError(f"atr_period {self.atr_period!r} must be a whole number 1..1000")


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
    sizing: RiskSizing | None = None,
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
        sizing=sizing,
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
    sizing: RiskSizing | None = None,
) -> BacktestResult:
    """The engine: ``targets`` of shape (n,) for one Bars, or (n, legs) for a tuple of
    Bars on one time grid; see the module docstring for the rules."""
    legs = _legs(bars)
    if sizing is not None and len(legs) > 1:
        raise StrategyError(
            "risk sizing sizes one instrument's entries; legs trade a fixed quantity"
        )
    n = len(legs[0])
    targets = _targets_checked(targets, n, len(legs), shorts)
    quantities = _quantities(quantity, len(legs))
    if not np.isfinite(cash):
        raise StrategyError(f"cash {cash!r} is not a finite number")
    for name, value in (("commission_pct", commission_pct), ("slippage_bps", slippage_bps)):
        if not np.isfinite(value) or value < 0:
            raise StrategyError(f"{name} {value!r} must be a finite number, 0 or more")

    fill_bars, fill_flows = [], []
    equity = np.zeros(n)
    trades: list[Trade] = []
    open_legs: list[dict[str, Any]] = []
    bars_in_market = 0
    for leg, (leg_bars, leg_quantity) in enumerate(zip(legs, quantities, strict=True)):
        run = _leg_run(
            leg, leg_bars, targets[:, leg], leg_quantity, commission_pct, slippage_bps, costs,
            sizing=sizing, cash=cash,
        )  # fmt: skip
        trades.extend(run.trades)
        if run.open_position is not None:
            open_legs.append(run.open_position)
        fill_bars.append(run.fill_bars)
        fill_flows.append(run.fill_flows)
        bars_in_market = run.bars_in_market
        if run.held is not None:  # sized: each trade's own shares
            equity += run.held * leg_bars.close
            continue
        # Shares held during bar t are the target of bar t - 1, marked at close[t].
        marked = np.empty(n)
        marked[0] = 0.0
        np.multiply(targets[:-1, leg], leg_bars.close[1:], out=marked[1:])
        if leg_quantity != 1:
            marked *= leg_quantity
        equity += marked
    equity += _cash_curve(cash, np.concatenate(fill_bars), np.concatenate(fill_flows), n)
    if len(legs) > 1:
        trades.sort(key=lambda trade: (trade.exit_index, trade.leg))
        bars_in_market = int(np.any(targets[:-1] != 0.0, axis=1).sum())

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
    if periods_per_year is None:
        periods_per_year = periods_per_year_infer(legs[0].time)
    metrics = metrics_compute(
        equity=equity, trades=trades, exposure=bars_in_market / n,
        periods_per_year=periods_per_year,
    )  # fmt: skip
    return BacktestResult(
        trades=trades, equity=equity, open_position=open_position, metrics=metrics
    )


def _cash_curve(cash: float, bars: np.ndarray, flows: np.ndarray, n: int) -> np.ndarray:
    """Cash after each bar's fills: constant between fill bars, so a repeat of the levels."""
    if len(bars) == 0:
        return np.full(n, float(cash))
    at, where = np.unique(bars, return_inverse=True)
    levels = np.empty(len(at) + 1)
    levels[0] = cash
    np.cumsum(np.bincount(where, weights=flows), out=levels[1:])
    levels[1:] += cash
    return np.repeat(levels, np.diff(at, prepend=0, append=n))


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


def _targets_checked(targets: np.ndarray, n: int, legs: int, shorts: bool) -> np.ndarray:
    """The targets as float64 of shape (n, legs), each -1, 0 or 1 (0 or 1 without shorts).

    Only the first bar and the bars where a target changes are looked at: a value holds
    until the next change, and NaN differs from itself, so every NaN bar is a change.
    """
    given = np.asarray(targets, dtype=np.float64)
    targets = given[:, None] if given.ndim == 1 and legs == 1 else given
    if targets.shape != (n, legs):
        want = f"({n},)" if legs == 1 else f"({n}, {legs})"
        raise StrategyError(f"targets: shape {given.shape}, expected {want}")
    low = -1.0 if shorts else 0.0
    for leg in range(legs):
        column = targets[:, leg]
        at = np.flatnonzero(column[1:] != column[:-1]) + 1
        at = np.concatenate(([0], at))
        value = column[at]
        bad = ~((value == 0.0) | (value == 1.0) | (value == low))
        if bad.any():
            row = int(at[np.argmax(bad)])
            allowed = "-1, 0 or 1" if shorts else "0 or 1 (shorts are off)"
            where = f"bar {row}" + (f" leg {leg}" if legs > 1 else "")
            raise StrategyError(f"targets: {float(column[row])!r} at {where}; expected {allowed}")
    return targets


def _quantities(quantity: int | Sequence[int], legs: int) -> list[int]:
    values = [quantity] * legs if isinstance(quantity, int | np.integer) else list(quantity)
    if len(values) != legs:
        raise StrategyError(f"quantity: {len(values)} values for {legs} legs")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
            raise StrategyError(f"quantity {value!r} must be a whole number above 0")
    return [int(value) for value in values]


@dataclass
class _LegRun:
    trades: list[Trade]
    open_position: dict[str, Any] | None
    fill_bars: np.ndarray  # the bar of each fill (entries, then exits)
    fill_flows: np.ndarray  # the cash each one moves, costs included
    bars_in_market: int
    held: np.ndarray | None = None  # shares held at each close, when entries are sized


def _leg_run(
    leg: int,
    bars: Bars,
    targets: np.ndarray,
    quantity: int,
    commission_pct: float,
    slippage_bps: float,
    costs: Costs | None,
    *,
    sizing: RiskSizing | None = None,
    cash: float = 0.0,
) -> _LegRun:
    """One leg's fills and trades, from the bars where its target changes."""
    n = len(targets)
    # The held position changes at bar i when target[i - 1] differs from the one before
    # (from flat for bar 1); a change decided on the last bar would fill at bar n: never.
    changed = np.flatnonzero(targets[1:-1] != targets[:-2]) + 2
    if n > 1 and targets[0] != 0.0:
        changed = np.concatenate(([1], changed))
    new = targets[changed - 1]
    old = np.where(changed >= 2, targets[np.maximum(changed - 2, 0)], 0.0)
    entering = new != 0.0
    entries = changed[entering]
    exits = changed[old != 0.0]
    empty = np.empty(0)
    if len(entries) == 0:
        return _LegRun([], None, empty.astype(np.int64), empty, 0, np.zeros(n) if sizing else None)
    # Runs never overlap, so the k-th exit closes the k-th entry; one more entry is open.
    direction = new[entering]
    slip = slippage_bps / 10_000.0
    rate = commission_pct / 100.0

    def prices(entries, exits, direction):
        entry_price = bars.open[entries] * (1.0 + direction * slip) if slip else bars.open[entries]
        exit_price = bars.open[exits]
        if slip:
            exit_price = exit_price * (1.0 - direction[: len(exits)] * slip)
        return entry_price, exit_price

    def fill_costs(qty, entry_price, exit_price, entries, exits, direction):
        closed = len(exits)
        entry_cost = qty * entry_price * rate
        exit_cost = qty[:closed] * exit_price * rate
        if costs is not None:
            entry_cost = entry_cost + _charged(costs, direction, qty, entry_price, bars, entries)
            exit_cost = exit_cost + _charged(
                costs, -direction[:closed], qty[:closed], exit_price, bars, exits
            )
        return entry_cost, exit_cost

    entry_price, exit_price = prices(entries, exits, direction)
    if sizing is None:
        qty = np.full(len(entries), float(quantity))
    else:
        qty = _sized(
            sizing, bars, cash, entries, exits, direction, entry_price, exit_price, fill_costs
        )
        taken = qty > 0
        entries, exits = entries[taken], exits[taken[: len(exits)]]
        direction, qty = direction[taken], qty[taken]
        entry_price, exit_price = prices(entries, exits, direction)
        if len(entries) == 0:
            return _LegRun([], None, empty.astype(np.int64), empty, 0, np.zeros(n))
    closed = len(exits)
    signed = direction * qty
    entry_cost, exit_cost = fill_costs(qty, entry_price, exit_price, entries, exits, direction)
    fill_bars = np.concatenate((entries, exits))
    fill_flows = np.concatenate(
        (-signed * entry_price - entry_cost, signed[:closed] * exit_price - exit_cost)
    )
    held = None
    if sizing is not None:  # shares from each entry's open to its exit's (exclusive)
        delta = np.bincount(fill_bars, weights=np.concatenate((signed, -signed[:closed])),
                            minlength=n + 1)  # fmt: skip
        held = np.cumsum(delta[:n])
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
    in_market = int((exits - entries[:closed]).sum())
    if closed == len(entries):
        return _LegRun(trades, None, fill_bars, fill_flows, in_market, held)
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
    return _LegRun(trades, open_position, fill_bars, fill_flows, in_market + n - i, held)


def _sized(sizing, bars, cash, entries, exits, direction, entry_price, exit_price, fill_costs):
    """Each entry's quantity under ``sizing`` (0: not taken), in order, from the equity at
    its decision bar's close: the cash, plus the pnl of the trades taken and closed by then,
    plus a trade still held then (a reversal's) marked to that close less its entry costs."""
    from strategies.indicators import atr
    from strategies.sizing import entry_shares

    average_range = atr(bars.high, bars.low, bars.close, sizing.atr_period)
    qty = np.zeros(len(entries))
    realised = float(cash)
    last = None  # the latest trade taken: (exit bar, pnl, entry price, signed, entry cost)
    for k, at in enumerate(entries.tolist()):
        decided = at - 1
        close = float(bars.close[decided])
        equity = realised
        if last is not None and last[0] <= decided:
            realised += last[1]
            equity, last = realised, None
        elif last is not None:  # a reversal: the trade it exits is still held at this close
            equity += (close - last[2]) * last[3] - last[4]
        shares = entry_shares(
            equity=equity, close=close, average_range=float(average_range[decided]),
            direction=float(direction[k]), risk_pct=sizing.risk_pct, stop_atr=sizing.stop_atr,
        )  # fmt: skip
        if shares <= 0:
            continue
        qty[k] = shares
        if last is not None:  # the reversal's exit has filled: its pnl is realised
            realised += last[1]
        one = np.array([float(shares)])
        closes = k < len(exits)
        e_cost, x_cost = fill_costs(
            one, entry_price[k : k + 1], exit_price[k : k + 1] if closes else exit_price[:0],
            entries[k : k + 1], exits[k : k + 1] if closes else exits[:0], direction[k : k + 1],
        )  # fmt: skip
        last = None
        if closes:  # the last entry may still be open at the end: it has no exit
            signed = float(direction[k]) * shares
            pnl = (exit_price[k] - entry_price[k]) * signed - e_cost[0] - x_cost[0]
            last = (int(exits[k]), float(pnl), float(entry_price[k]), signed, float(e_cost[0]))
    return qty


def _charged(
    costs: Costs,
    direction: np.ndarray,
    quantity: np.ndarray,
    price: np.ndarray,
    bars: Bars,
    at: np.ndarray,
) -> np.ndarray:
    """What ``costs`` charges each fill (a positive direction buys); each fill is an order."""
    charged = np.empty(len(at))
    fills = zip(direction.tolist(), quantity.tolist(), price.tolist(), at.tolist(), strict=True)
    for k, (d, q, p, i) in enumerate(fills):
        value = float(costs("BUY" if d > 0 else "SELL", int(q), p, bars.time[i]))
        if not np.isfinite(value) or value < 0:
            raise StrategyError(f"costs: {value!r} for the fill at bar {i}; expected 0 or more")
        charged[k] = value
    return charged
