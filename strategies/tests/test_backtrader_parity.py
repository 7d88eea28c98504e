"""The engine's trades and equity identical to backtrader's for an SMA(10/30) cross.

Backtrader (a test-only requirement) runs its own SMA and CrossOver, with cheat-on-open
off: an order placed in ``next`` at bar t fills at bar t + 1's open, fixed size,
commission in percent of value. The engine runs the reference cross (TA-Lib SMA) of
``engine_fixtures``. The daily data are random walks on the 0.05 tick grid whose SMAs
never come within 1e-9 of a tie, checked here, so the two must agree to the bar.
"""

import backtrader as bt
import numpy as np
import pandas as pd
import pytest
import talib

from strategies.engine import backtest
from strategies.tests.engine_fixtures import SmaCrossReference, random_walk_bars

QUANTITY = 10
COMMISSION_PCT = 0.1


class BacktraderSmaCross(bt.Strategy):
    params = (("fast", 10), ("slow", 30), ("size", QUANTITY))

    def __init__(self):
        fast = bt.ind.SMA(self.data.close, period=self.p.fast)
        slow = bt.ind.SMA(self.data.close, period=self.p.slow)
        self.cross = bt.ind.CrossOver(fast, slow)
        self.fills = []  # (bar index, size, price, commission)
        self.values = []  # the broker's value at each bar's close

    def notify_order(self, order):
        if order.status == order.Completed:
            self.fills.append(
                (len(self) - 1, order.executed.size, order.executed.price, order.executed.comm)
            )

    def prenext(self):
        self.values.append(self.broker.getvalue())

    def next(self):
        self.values.append(self.broker.getvalue())
        if not self.position and self.cross[0] > 0:
            self.buy(size=self.p.size)
        elif self.position and self.cross[0] < 0:
            self.close()


def _backtrader(bars):
    frame = pd.DataFrame(
        {"open": bars.open, "high": bars.high, "low": bars.low, "close": bars.close,
         "volume": bars.volume},
        index=pd.DatetimeIndex(bars.time),
    )  # fmt: skip
    cerebro = bt.Cerebro(stdstats=False, cheat_on_open=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame))
    cerebro.addstrategy(BacktraderSmaCross)
    cerebro.broker.setcash(1_000_000.0)
    cerebro.broker.set_coc(False)
    cerebro.broker.setcommission(commission=COMMISSION_PCT / 100)
    [strategy] = cerebro.run()
    return strategy, cerebro.broker


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_trades_and_equity_identical_to_backtrader(seed):
    bars = random_walk_bars(3000, seed=seed)
    fast, slow = talib.SMA(bars.close, 10), talib.SMA(bars.close, 30)
    assert np.nanmin(np.abs(fast - slow)) > 1e-9, "data too close to an SMA tie"

    ours = backtest(
        SmaCrossReference(fast=10, slow=30), bars, quantity=QUANTITY, cash=1_000_000.0,
        commission_pct=COMMISSION_PCT,
    )  # fmt: skip
    strategy, broker = _backtrader(bars)

    # Backtrader's fills at each bar's open, paired into round trips.
    fills = strategy.fills
    for index, _size, price, _commission in fills:
        assert price == bars.open[index]
    buys, sells = fills[0::2], fills[1::2]
    assert all(size == QUANTITY for _, size, _, _ in buys)
    assert all(size == -QUANTITY for _, size, _, _ in sells)
    theirs = [
        (b[0], b[2], s[0], s[2], (s[2] - b[2]) * QUANTITY - b[3] - s[3])
        for b, s in zip(buys, sells, strict=False)
    ]
    assert len(ours.trades) == len(theirs) > 20
    for trade, (entry, entry_price, exit_, exit_price, pnl) in zip(
        ours.trades, theirs, strict=True
    ):
        assert (trade.entry_index, trade.exit_index) == (entry, exit_)
        assert trade.entry_price == entry_price
        assert trade.exit_price == exit_price
        assert trade.pnl == pytest.approx(pnl, abs=1e-9)

    # The same position open at the end (or none), never closed by the end of data.
    if len(buys) > len(sells):
        assert ours.open_position["entry_index"] == buys[-1][0]
        assert ours.open_position["entry_price"] == buys[-1][2]
        assert strategy.position.size == QUANTITY
    else:
        assert ours.open_position is None
        assert strategy.position.size == 0

    # The same equity at every bar's close.
    assert len(strategy.values) == len(bars)
    np.testing.assert_allclose(ours.equity, strategy.values, rtol=0, atol=1e-6)
    assert ours.equity[-1] == pytest.approx(broker.getvalue(), abs=1e-6)
