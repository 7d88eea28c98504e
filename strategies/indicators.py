"""Technical indicators over bars: TA-Lib's, with its conventions, plus session VWAP.

Each function takes 1-D arrays (coerced to float64) of equal length and returns arrays of
that length, NaN during the warm-up, exactly as TA-Lib (PyPI ``ta-lib``) computes them: the
strategies and the backtests agree with TA-Lib to the bar because they *are* TA-Lib. Bad
input raises :class:`~strategies.base.StrategyError` naming the argument.

TA-Lib lacks VWAP, so :func:`vwap` (and its band, :func:`vwap_sd`) are computed here, per
session; :func:`highest` and :func:`lowest` are the Donchian channel over the *previous*
bars. This module imports no Django.
"""

from __future__ import annotations

import numpy as np
import talib

from strategies.base import StrategyError

IST_OFFSET = np.timedelta64(330, "m")  # IST is UTC+05:30 all year (India keeps no DST)


def _series(value: object, name: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise StrategyError(f"{name}: not numeric") from None
    if array.ndim != 1:
        raise StrategyError(f"{name}: must be 1-D, got {array.ndim}-D")
    return np.ascontiguousarray(array)


def _columns(**given: object) -> list[np.ndarray]:
    arrays = [_series(value, name) for name, value in given.items()]
    lengths = {name: len(a) for name, a in zip(given, arrays, strict=True)}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{name} {n}" for name, n in lengths.items())
        raise StrategyError(f"inputs differ in length: {shown}")
    return arrays


def _period(value: object, name: str = "period", least: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise StrategyError(f"{name}: {value!r} is not an int")
    if value < least:
        raise StrategyError(f"{name}: {value} is below {least}")
    return int(value)


def _positive(value: object, name: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise StrategyError(f"{name}: {value!r} is not a number") from None
    if not np.isfinite(number) or number < 0:
        raise StrategyError(f"{name}: {value!r} must be a finite number >= 0")
    return number


def sma(close: np.ndarray, period: int) -> np.ndarray:
    """Simple moving average; the first ``period - 1`` values are NaN."""
    (close,) = _columns(close=close)
    return talib.SMA(close, timeperiod=_period(period))


def ema(close: np.ndarray, period: int) -> np.ndarray:
    """Exponential moving average, k = 2 / (period + 1), seeded with the SMA of the first
    ``period`` values (TA-Lib's default); the first ``period - 1`` values are NaN."""
    (close,) = _columns(close=close)
    return talib.EMA(close, timeperiod=_period(period))


def rsi(close: np.ndarray, period: int) -> np.ndarray:
    """Wilder's RSI (0..100); the first ``period`` values are NaN. TA-Lib needs period >= 2."""
    (close,) = _columns(close=close)
    return talib.RSI(close, timeperiod=_period(period, least=2))


def macd(
    close: np.ndarray, fast: int, slow: int, signal: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(macd, signal, hist): EMA(fast) - EMA(slow), its EMA(signal), and their difference.
    TA-Lib seeds both EMAs on the slow window (the fast one on closes slow - fast .. slow -
    1), so the line is not ``ema(fast) - ema(slow)`` of this module until the seeds fade.
    All three are aligned: the first ``slow - 1 + signal - 1`` values are NaN."""
    (close,) = _columns(close=close)
    fast, slow = _period(fast, "fast", 2), _period(slow, "slow", 2)
    signal = _period(signal, "signal")
    if fast >= slow:
        raise StrategyError(f"macd: fast ({fast}) must be less than slow ({slow})")
    return talib.MACD(close, fastperiod=fast, slowperiod=slow, signalperiod=signal)


def bbands(
    close: np.ndarray, period: int, nbdev_up: float, nbdev_dn: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(upper, middle, lower): SMA(period) ± nbdev x the *population* standard deviation of
    the same window (TA-Lib's BBANDS); the first ``period - 1`` values are NaN."""
    (close,) = _columns(close=close)
    return talib.BBANDS(
        close,
        timeperiod=_period(period, least=2),
        nbdevup=_positive(nbdev_up, "nbdev_up"),
        nbdevdn=_positive(nbdev_dn, "nbdev_dn"),
        matype=talib.MA_Type.SMA,
    )


def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> np.ndarray:
    """Wilder's average true range; the first ``period`` values are NaN."""
    high, low, close = _columns(high=high, low=low, close=close)
    return talib.ATR(high, low, close, timeperiod=_period(period))


def stoch(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    fastk_period: int,
    slowk_period: int,
    slowd_period: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(slowk, slowd), both smoothings simple moving averages (TA-Lib's default); the first
    ``fastk_period - 1 + slowk_period - 1 + slowd_period - 1`` values are NaN."""
    high, low, close = _columns(high=high, low=low, close=close)
    return talib.STOCH(
        high,
        low,
        close,
        fastk_period=_period(fastk_period, "fastk_period"),
        slowk_period=_period(slowk_period, "slowk_period"),
        slowk_matype=talib.MA_Type.SMA,
        slowd_period=_period(slowd_period, "slowd_period"),
        slowd_matype=talib.MA_Type.SMA,
    )


def adx(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> np.ndarray:
    """Wilder's average directional index; the first ``2 x period - 1`` values are NaN.
    TA-Lib needs period >= 2."""
    high, low, close = _columns(high=high, low=low, close=close)
    return talib.ADX(high, low, close, timeperiod=_period(period, least=2))


def session_ids(time: np.ndarray) -> np.ndarray:
    """The IST trading day of each bar, as an int (days since 1970-01-01 in IST), from bar
    start times in UTC (``datetime64``): the session key VWAP resets on."""
    stamps = np.asarray(time)
    if stamps.ndim != 1 or not np.issubdtype(stamps.dtype, np.datetime64):
        raise StrategyError("time: must be a 1-D datetime64 array (UTC)")
    return (stamps.astype("datetime64[m]") + IST_OFFSET).astype("datetime64[D]").astype(np.int64)


def ist_minute(time: np.ndarray) -> np.ndarray:
    """Minutes after midnight IST of each bar start (UTC ``datetime64``): 09:15 is 555."""
    stamps = np.asarray(time)
    if stamps.ndim != 1 or not np.issubdtype(stamps.dtype, np.datetime64):
        raise StrategyError("time: must be a 1-D datetime64 array (UTC)")
    local = stamps.astype("datetime64[m]") + IST_OFFSET
    return (local - local.astype("datetime64[D]")).astype(np.int64)


def _sessions(session: np.ndarray, n: int) -> np.ndarray:
    keys = np.asarray(session)
    if np.issubdtype(keys.dtype, np.datetime64):
        keys = session_ids(keys)
    elif not np.issubdtype(keys.dtype, np.integer):
        raise StrategyError("session: must be int session ids or datetime64 bar times")
    if keys.ndim != 1 or len(keys) != n:
        raise StrategyError(f"session: must be 1-D with one id per bar ({n}), got {keys.shape}")
    return keys


def _session_sums(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Cumulative sums of ``values`` restarting at each index where ``starts`` is True."""
    total = np.cumsum(values)
    before = np.where(starts, total - values, np.nan)
    before[0] = 0.0
    # carry each session's opening offset forward to its later bars
    index = np.maximum.accumulate(np.where(starts, np.arange(len(values)), 0))
    return total - before[index]


def _vwap_sums(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, session: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    high, low, close, volume = _columns(high=high, low=low, close=close, volume=volume)
    keys = _sessions(session, len(close))
    typical = (high + low + close) / 3.0
    if len(close) == 0:
        return typical, typical, typical
    starts = np.empty(len(close), dtype=bool)
    starts[0] = True
    starts[1:] = keys[1:] != keys[:-1]
    return (
        _session_sums(volume, starts),
        _session_sums(typical * volume, starts),
        _session_sums(typical * typical * volume, starts),
    )


def vwap(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, session: np.ndarray
) -> np.ndarray:
    """Session VWAP: Σ typical x volume / Σ volume, summed from the session's first bar, where
    typical = (high + low + close) / 3. ``session`` is one int id per bar (a new id starts
    a session) or the bars' UTC times, whose IST day is then the session. NaN while the
    session has traded no volume."""
    volumes, values, _ = _vwap_sums(high, low, close, volume, session)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(volumes > 0, values / volumes, np.nan)


def vwap_sd(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, session: np.ndarray
) -> np.ndarray:
    """The volume-weighted (population) standard deviation of the typical price around the
    session VWAP, summed like :func:`vwap`: √(Σ v·tp² / Σ v - vwap²). NaN with no volume."""
    volumes, values, squares = _vwap_sums(high, low, close, volume, session)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = values / volumes
        variance = np.maximum(squares / volumes - mean * mean, 0.0)
        return np.where(volumes > 0, np.sqrt(variance), np.nan)


def _previous(values: np.ndarray, period: int, reduce: str) -> np.ndarray:
    out = np.full(len(values), np.nan)
    if len(values) > period:
        windows = np.lib.stride_tricks.sliding_window_view(values[:-1], period)
        out[period:] = windows.max(axis=1) if reduce == "max" else windows.min(axis=1)
    return out


def highest(values: np.ndarray, period: int) -> np.ndarray:
    """The highest of the *previous* ``period`` values, bar t excluded (bars t-period..t-1);
    the first ``period`` values are NaN."""
    (values,) = _columns(values=values)
    return _previous(values, _period(period), "max")


def lowest(values: np.ndarray, period: int) -> np.ndarray:
    """The lowest of the *previous* ``period`` values, bar t excluded; the first ``period``
    values are NaN."""
    (values,) = _columns(values=values)
    return _previous(values, _period(period), "min")
