"""``ml_beta`` (beta): a scikit-learn classifier on lagged features predicting the next bar's
direction. It is labelled beta in the UI and the docs: a model, not a rule a trader can read."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from strategies import indicators
from strategies.base import Bars, Param, Strategy, StrategyError, register
from strategies.rules.common import single

RSI_PERIOD = 14
SMA_PERIOD = 20


def features(close: np.ndarray, lags: int) -> np.ndarray:
    """One row per bar, known at its close: the last ``lags`` one-bar log returns (r_t,
    r_(t-1), ...), RSI(14) / 100 - 0.5 and close / SMA(20) - 1. NaN in the warm-up."""
    n = len(close)
    with np.errstate(divide="ignore", invalid="ignore"):
        ret = np.full(n, np.nan)
        ret[1:] = np.diff(np.log(close))
        columns = []
        for lag in range(lags):
            shifted = np.full(n, np.nan)
            if lag < n:
                shifted[lag:] = ret[: n - lag]
            columns.append(shifted)
        columns.append(indicators.rsi(close, RSI_PERIOD) / 100 - 0.5)
        columns.append(close / indicators.sma(close, SMA_PERIOD) - 1)
    return np.column_stack(columns) if n else np.empty((0, lags + 2))


def labels(close: np.ndarray) -> np.ndarray:
    """1 where the next bar's close is above this one's, else 0; the last bar has none (-1)."""
    out = np.full(len(close), -1, dtype=np.int64)
    out[:-1] = (close[1:] > close[:-1]).astype(np.int64)
    return out


class _Model:
    """A fitted classifier, or a constant when the training labels hold one class only."""

    def __init__(self, x: np.ndarray, y: np.ndarray, c: float) -> None:
        self.constant: float | None = None
        if len(np.unique(y)) < 2:
            self.constant = float(y[0]) if len(y) else 0.0
            return
        self.pipeline = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=500))
        self.pipeline.fit(x, y)

    def up(self, x: np.ndarray) -> np.ndarray:
        """The probability that the next bar closes higher, per row."""
        if self.constant is not None or not len(x):
            return np.full(len(x), self.constant or 0.0)
        return self.pipeline.predict_proba(x)[:, 1]


@register
class MlBeta(Strategy):
    """Long when a logistic regression gives P(next close > this close) > ``threshold``.

    Features at bar t (``features``) use closes up to t; the label of bar t is whether
    close t+1 > close t, so a sample is complete only once bar t+1 has closed. Two modes:

    - **fitted** (``fit(bars)``, as the walk-forward does per in-sample window): the model
      learns from every complete sample of the bars given; ``targets`` then only predicts,
      never trains.
    - **unfitted** (``targets`` without ``fit``): an expanding window. At bars s =
      ``min_train``, ``min_train + retrain``, ... a model is trained on the samples whose
      label bar is before s (bars < s only) and decides bars s..s + retrain - 1. Bars
      before ``min_train`` are flat.

    Defaults: 5 lags (a trading week of daily returns), C = 1 (sklearn's default
    regularisation), min_train 252 (a year of daily bars), retrain 63 (quarterly), and a
    threshold of 0.55 so that a coin-flip forecast does not pay costs to trade."""

    name = "ml_beta"
    title = "ML classifier (beta)"
    beta = True
    params = (
        Param("lags", int, 5, low=1, high=50, help="lagged returns as features"),
        Param("threshold", float, 0.55, low=0.5, high=1, help="P(up) above which to be long"),
        Param("min_train", int, 252, low=30, high=100000, help="bars before the first model"),
        Param("retrain", int, 63, low=1, high=100000, help="bars between re-trainings"),
        Param("c", float, 1.0, low=1e-6, high=1e6, help="inverse regularisation strength"),
    )

    def __init__(self, **given: object) -> None:
        super().__init__(**given)
        self.model: _Model | None = None

    def _samples(self, close: np.ndarray, end: int) -> tuple[np.ndarray, np.ndarray]:
        """Complete samples using bars < ``end`` only: features at u, label from u + 1."""
        x = features(close[:end], self.lags)
        y = labels(close[:end])
        keep = np.isfinite(x).all(axis=1) & (y >= 0)
        return x[keep], y[keep]

    def fit(self, bars: Bars | tuple[Bars, ...]) -> None:
        close = single(bars, self.name).close
        x, y = self._samples(close, len(close))
        if not len(y):
            raise StrategyError(f"{self.name}: too few bars to fit ({len(close)})")
        self.model = _Model(x, y, self.c)

    def targets(self, bars: Bars | tuple[Bars, ...]) -> np.ndarray:
        close = single(bars, self.name).close
        n = len(close)
        x = features(close, self.lags)
        ready = np.isfinite(x).all(axis=1)
        up = np.zeros(n)
        if self.model is not None:
            up[ready] = self.model.up(x[ready])
        else:
            for start in range(self.min_train, n, self.retrain):
                stop = min(start + self.retrain, n)
                train_x, train_y = self._samples(close, start)
                if not len(train_y):
                    continue
                rows = np.arange(start, stop)[ready[start:stop]]
                up[rows] = _Model(train_x, train_y, self.c).up(x[rows])
        return (ready & (up > self.threshold)).astype(np.float64)
