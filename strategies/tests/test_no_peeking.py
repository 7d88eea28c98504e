"""No strategy peeks: ``targets(bars)[: t + 1] == targets(bars.prefix(t + 1))`` for many t.

Every registered strategy is held to it on random bars, and a strategy written here to
look one bar ahead must fail the same check, so the check is shown to bite.
"""

from __future__ import annotations

import numpy as np
import pytest

import strategies.catalogue  # noqa: F401  (registers every strategy before collection)
from strategies.base import STRATEGIES, Bars, Strategy, strategy_make
from strategies.tests.catalogue_bars import partner_of, random_minute_bars

BARS = random_minute_bars(days=3, seed=17)
PARTNER = partner_of(BARS)
# small enough windows that every rule trades within three sessions of minute bars
PARAMS = {
    "ml_beta": {"min_train": 120, "retrain": 250, "threshold": 0.5},  # re-trains at 120, 370, ...
    "pairs": {"lookback": 60, "entry": 1.5},
}
# random bars, the first ones, a session's turn (375) and ml_beta's re-training bars
EDGES = {0, 1, 2, 119, 120, 121, 369, 370, 371, 374, 375, 376, len(BARS) - 2}
CUTS = sorted({*np.random.default_rng(5).integers(1, len(BARS), 20).tolist(), *EDGES})


def data_for(strategy: Strategy, n: int | None = None) -> Bars | tuple[Bars, ...]:
    size = len(BARS) if n is None else n
    if strategy.legs == 2:
        return (BARS.prefix(size), PARTNER.prefix(size))
    return BARS.prefix(size)


def peeks(strategy: Strategy, cuts: list[int]) -> list[int]:
    """The cuts t at which the targets of the first t + 1 bars differ from the same bars'
    targets computed from all the bars: each is a bar whose decision saw the future."""
    full = strategy.targets(data_for(strategy))
    return [
        t
        for t in cuts
        if not np.array_equal(full[: t + 1], strategy.targets(data_for(strategy, t + 1)))
    ]


class Peeker(Strategy):
    """Long when the *next* close is higher: the leak the check must catch."""

    name = "peeker"
    title = "Looks one bar ahead"

    def targets(self, bars: Bars | tuple[Bars, ...]) -> np.ndarray:
        close = bars.close  # type: ignore[union-attr]
        out = np.zeros(len(close))
        out[:-1] = close[1:] > close[:-1]
        return out


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_registered_strategy_never_peeks(name: str) -> None:
    strategy = strategy_make(name, PARAMS.get(name, {}))
    full = strategy.targets(data_for(strategy))
    shape = (len(BARS), strategy.legs) if strategy.legs > 1 else (len(BARS),)
    assert full.shape == shape
    assert np.isfinite(full).all()
    assert full.any(), f"{name} never trades on the test data: the check would prove nothing"
    assert set(np.unique(full)) <= ({-1.0, 0.0, 1.0} if strategy.shorts else {0.0, 1.0})
    assert peeks(strategy, CUTS) == []


def test_fitted_ml_beta_never_peeks() -> None:
    strategy = strategy_make("ml_beta", {"threshold": 0.5})
    strategy.fit(BARS.prefix(400))
    assert strategy.targets(BARS).any()
    assert peeks(strategy, CUTS) == []


def test_the_check_catches_a_strategy_that_peeks() -> None:
    caught = peeks(Peeker(), CUTS)
    # every cut but one whose next close happens not to be higher is a leak it must see
    assert len(caught) >= len(CUTS) // 3
    up = BARS.close[1:] > BARS.close[:-1]
    assert caught == [t for t in CUTS if t + 1 < len(BARS) and up[t]]
