"""The strategy catalogue: importing this module registers every strategy in ``STRATEGIES``.

``strategies.base.strategy_make`` imports it; each rule lives in ``strategies/rules/``.
"""

from strategies.rules import (  # noqa: F401  (each module registers its strategy)
    bollinger_breakout,
    donchian_breakout,
    macd_trend,
    ml_beta,
    opening_range_breakout,
    pairs,
    rsi_reversion,
    sma_cross,
    vwap_reversion,
)
