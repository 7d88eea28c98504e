"""Parameters: every strategy's are typed, bounded and defaulted, and strategy_make refuses
bad ones naming the problem; entries sized by the 2% rule."""

from __future__ import annotations

import pytest

from strategies.base import STRATEGIES, StrategyError, strategy_make
from strategies.sizing import quantity_for

NAMES = [
    "sma_cross",
    "rsi_reversion",
    "bollinger_breakout",
    "donchian_breakout",
    "macd_trend",
    "opening_range_breakout",
    "vwap_reversion",
    "pairs",
    "ml_beta",
]


def test_the_catalogue_holds_the_nine_strategies() -> None:
    strategy_make("sma_cross")  # imports the catalogue
    assert sorted(STRATEGIES) == sorted(NAMES)
    flags = {name: (c.legs, c.intraday, c.shorts, c.beta) for name, c in STRATEGIES.items()}
    assert flags["pairs"] == (2, False, True, False)
    assert flags["ml_beta"] == (1, False, False, True)
    assert flags["opening_range_breakout"][1]
    assert flags["vwap_reversion"][1]
    assert sum(beta for *_, beta in flags.values()) == 1


@pytest.mark.parametrize("name", NAMES)
def test_defaults_are_typed_within_bounds_and_explained(name: str) -> None:
    strategy = strategy_make(name)
    assert strategy.params
    for param in strategy.params:
        assert type(param.default) is param.type
        assert param.low is None or param.default >= param.low
        assert param.high is None or param.default <= param.high
        assert param.help
        assert strategy.values[param.name] == param.default


def test_the_issue_defaults() -> None:
    assert strategy_make("sma_cross").values == {"fast": 10, "slow": 30}
    assert strategy_make("rsi_reversion").values == {"period": 14, "low": 30, "high": 70}
    assert strategy_make("bollinger_breakout").values == {"period": 20, "k": 2}
    assert strategy_make("donchian_breakout").values == {"entry": 20, "exit": 10}


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("sma_cross", {"fsat": 5}, "sma_cross has no parameter fsat (it takes fast, slow)"),
        ("sma_cross", {"fast": "ten"}, "parameter fast: 'ten' is not int"),
        ("sma_cross", {"fast": 2.5}, "parameter fast: 2.5 is not int"),
        ("sma_cross", {"fast": 0}, "parameter fast: 0 is below 1"),
        ("sma_cross", {"slow": 10**6}, "parameter slow: 1000000 is above 5000"),
        ("sma_cross", {"fast": 30, "slow": 30}, "sma_cross: fast (30) must be less than slow (30)"),
        ("sma_cross", {"fast": 40}, "sma_cross: fast (40) must be less than slow (30)"),
        ("rsi_reversion", {"low": 80}, "rsi_reversion: low (80.0) must be less than high (70.0)"),
        ("rsi_reversion", {"high": 101}, "parameter high: 101.0 is above 100"),
        ("rsi_reversion", {"low": "nan"}, "parameter low: 'nan' is not float"),
        ("bollinger_breakout", {"k": -1}, "parameter k: -1.0 is below 0"),
        ("donchian_breakout", {"exit": 0}, "parameter exit: 0 is below 1"),
        ("macd_trend", {"fast": 26}, "macd_trend: fast (26) must be less than slow (26)"),
        ("macd_trend", {"above_zero": "maybe"}, "parameter above_zero: 'maybe' is not bool"),
        ("opening_range_breakout", {"minutes": 0}, "parameter minutes: 0 is below 1"),
        ("vwap_reversion", {"min_bars": 400}, "parameter min_bars: 400 is above 375"),
        ("pairs", {"exit": 2.5}, "pairs: exit (2.5) must be less than entry (2.0)"),
        ("ml_beta", {"threshold": 0.4}, "parameter threshold: 0.4 is below 0.5"),
        ("nope", {}, "no strategy 'nope' (choose one of bollinger_breakout, donchian_breakout"),
    ],
)
def test_bad_parameters_are_refused_by_name(name: str, params: dict, message: str) -> None:
    with pytest.raises(StrategyError) as caught:
        strategy_make(name, params)
    assert message in str(caught.value)


def test_parameters_from_the_command_line_are_parsed() -> None:
    strategy = strategy_make("macd_trend", {"fast": "8", "slow": "21", "above_zero": "yes"})
    assert strategy.values == {"fast": 8, "slow": 21, "signal": 9, "above_zero": True}
    assert strategy.fast == 8


def test_quantity_for_risks_two_percent_of_equity_at_the_stop() -> None:
    # 2% of 10,00,000 is 20,000; a stop 5 below the entry: 4,000 shares
    assert quantity_for(None, 1_000_000, 100, 95) == 4000
    assert quantity_for(strategy_make("sma_cross"), 1_000_000, 100, 95, risk_pct=1) == 2000
    assert quantity_for(None, 100_000, 250.5, 247.35) == int(2000 / 3.15)
    # a strategy that shorts may have its stop above the entry
    assert quantity_for(strategy_make("pairs"), 1_000_000, 100, 104) == 5000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("sma_cross", 1_000_000, 100, 105),
            "sma_cross: a long's stop (105) must be below its entry (100)",
        ),
        ((None, 0, 100, 95), "sizing: equity must be positive"),
        ((None, 1_000_000, 100, 100), "sizing: the stop must differ from the entry"),
        ((None, 1_000_000, float("nan"), 95), "sizing: equity, prices and risk_pct must be finite"),
        ((None, "lots", 100, 95), "sizing: equity, prices and risk_pct must be finite"),
    ],
)
def test_quantity_for_refuses_naming_the_problem(args: tuple, message: str) -> None:
    name, *rest = args
    strategy = strategy_make(name) if name else None
    with pytest.raises(StrategyError) as caught:
        quantity_for(strategy, *rest)
    assert message in str(caught.value)
