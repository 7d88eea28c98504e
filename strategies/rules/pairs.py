"""``pairs``: a cointegrated pair traded on the z-score of its spread, one leg long, one short."""

from __future__ import annotations

import numpy as np

from strategies.base import Bars, Param, Strategy, StrategyError, register

# Engle-Granger 5% critical value of the residual ADF t-statistic for two variables with a
# constant (MacKinnon 2010, asymptotic): below it the spread is taken as stationary.
EG_CRITICAL_5PCT = -3.34


WINDOW_VALUES = 4_000_000  # window values held at once (a chunk of windows): bounded memory


def _fit_windows(wa: np.ndarray, wb: np.ndarray) -> tuple[np.ndarray, ...]:
    lookback = wa.shape[1]
    mean_a = wa.mean(axis=1, keepdims=True)
    mean_b = wb.mean(axis=1, keepdims=True)
    db, da = wb - mean_b, wa - mean_a
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = (db * da).sum(axis=1) / (db * db).sum(axis=1)
        alpha = mean_a[:, 0] - beta * mean_b[:, 0]
        resid = wa - alpha[:, None] - beta[:, None] * wb
        z = (resid[:, -1] - resid.mean(axis=1)) / resid.std(axis=1)
        lagged, change = resid[:, :-1], np.diff(resid, axis=1)
        sxx = (lagged * lagged).sum(axis=1)
        rho = (lagged * change).sum(axis=1) / sxx
        u = change - rho[:, None] * lagged
        s2 = (u * u).sum(axis=1) / (lookback - 2)
        adf = rho / np.sqrt(s2 / sxx)
    return beta, alpha, z, adf


def rolling_spread(a: np.ndarray, b: np.ndarray, lookback: int) -> dict[str, np.ndarray]:
    """For each bar t >= lookback - 1, the OLS fit a = alpha + beta·b over bars
    t - lookback + 1..t (both log closes), and of that window's residuals: the z-score of
    the last, (e_t - mean e) / sd e (population sd; mean e is 0 with an intercept), and the
    Engle-Granger ADF t-statistic (Δe_i = rho·e_(i-1) + u_i, no lags, no constant).
    NaN before the first full window. Everything at t uses bars at or before t only."""
    n = len(a)
    keys = ("beta", "alpha", "z", "adf")
    out = {key: np.full(n, np.nan) for key in keys}
    if n < lookback:
        return out
    wa = np.lib.stride_tricks.sliding_window_view(a, lookback)
    wb = np.lib.stride_tricks.sliding_window_view(b, lookback)
    chunk = max(1, WINDOW_VALUES // lookback)
    for first in range(0, len(wa), chunk):
        rows = slice(first, first + chunk)
        fitted = _fit_windows(wa[rows], wb[rows])
        at = slice(lookback - 1 + first, lookback - 1 + first + len(fitted[0]))
        for key, value in zip(keys, fitted, strict=True):
            out[key][at] = value
    return out


@register
class Pairs(Strategy):
    """Trade the spread of two instruments, A (the first bars) and B (the second).

    At each close t the hedge ratio beta (and intercept) is the OLS fit of log close A on
    log close B over the ``lookback`` bars ending at t; the spread is A's residual and z
    its z-score within that window (``rolling_spread``). Targets per leg, in units:

    - flat and z > ``entry``: short the spread, A -1, B +1;
    - flat and z < -``entry``: long the spread, A +1, B -1;
    - in a position and |z| < ``exit``: flat; a z beyond ``entry`` on the other side
      flips it; otherwise the position is held.

    An entry (not an exit) also needs the window cointegrated: the Engle-Granger ADF
    t-statistic of its residuals below ``adf_max`` (default -3.34, the 5% critical value
    for two series; set it to 100 to skip the test). Legs are ±1 units each; sizing them
    by beta is the engine's or the desk's business. NaN z (the first ``lookback - 1``
    bars, or a flat window) is flat/hold as above.

    Defaults: lookback 120 (half a year of daily bars, enough for a stable beta, short
    enough to follow a drifting one), entry 2 (a two-sd stretch), exit 0.5 (close most of
    the gap before paying costs again)."""

    name = "pairs"
    title = "Pairs (cointegrated spread)"
    legs = 2
    shorts = True
    params = (
        Param("lookback", int, 120, low=10, high=5000, help="bars of the rolling OLS fit"),
        Param("entry", float, 2.0, low=0, high=10, help="|z| above which to enter"),
        Param("exit", float, 0.5, low=0, high=10, help="|z| below which to exit"),
        Param("adf_max", float, EG_CRITICAL_5PCT, low=-100, high=100, help="ADF t-stat to enter"),
    )

    def check(self) -> None:
        if self.exit >= self.entry:
            raise StrategyError(
                f"{self.name}: exit ({self.exit}) must be less than entry ({self.entry})"
            )

    def legs_of(self, bars: Bars | tuple[Bars, ...]) -> tuple[Bars, Bars]:
        if not isinstance(bars, tuple) or len(bars) != 2:
            raise StrategyError(f"{self.name} needs a tuple of two Bars (A, B)")
        first, second = bars
        if len(first) != len(second) or not np.array_equal(first.time, second.time):
            raise StrategyError(f"{self.name}: the two legs' bars are not on one time grid")
        if (first.close <= 0).any() or (second.close <= 0).any():
            raise StrategyError(f"{self.name}: closes must be positive (logs are taken)")
        return first, second

    def targets(self, bars: Bars | tuple[Bars, ...]) -> np.ndarray:
        first, second = self.legs_of(bars)
        fit = rolling_spread(np.log(first.close), np.log(second.close), self.lookback)
        z, tradable = fit["z"], fit["adf"] < self.adf_max
        out = np.zeros((len(first), 2))
        side = 0  # +1 long the spread (A long, B short), -1 short it
        for t in range(len(first)):
            if np.isfinite(z[t]):
                if side and abs(z[t]) < self.exit:
                    side = 0
                if tradable[t] and z[t] > self.entry:
                    side = -1
                elif tradable[t] and z[t] < -self.entry:
                    side = 1
            out[t] = (side, -side)
        return out
