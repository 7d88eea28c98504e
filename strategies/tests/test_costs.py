"""Indian charges as the engine's costs: orders.charges' figures on each fill, by IST date."""

from decimal import Decimal

import numpy as np
import pytest

from strategies.base import StrategyError
from strategies.costs import indian_costs
from strategies.engine import backtest_targets
from strategies.tests.engine_fixtures import bars_make


def test_a_delivery_buy_pays_stt_stamp_duty_and_the_transaction_charge():
    costs = indian_costs("CNC", plan_code="DISCOUNT")
    # 100 x 1000 = 1 lakh on 2024-10-01 IST (19:00 UTC the day before):
    # STT 100.00 + NSE 2.97 + SEBI 0.10 + stamp 15.00 + GST 18% of (0 + 2.97 + 0.10) = 0.55
    at = np.datetime64("2024-09-30T19:00", "us")
    assert costs("BUY", 100, 1000.0, at) == pytest.approx(118.62)
    # The sell pays no stamp duty.
    assert costs("SELL", 100, 1000.0, at) == pytest.approx(103.62)
    # At 18:00 UTC it is still 2024-09-30 in IST: the old NSE rate, 3.22 (GST 0.60).
    before = np.datetime64("2024-09-30T18:00", "us")
    assert costs("BUY", 100, 1000.0, before) == pytest.approx(118.92)


def test_intraday_uses_the_mis_rates_and_the_plans_brokerage():
    costs = indian_costs("MIS", plan_code="FLAT20")
    at = np.datetime64("2024-11-04T04:00", "us")
    # Brokerage min(0.03% x 1 lakh = 30, cap 20) = 20; STT 25.00 on the sell; NSE 2.97;
    # SEBI 0.10; GST 18% of 23.07 = 4.15 (4.1526).
    assert costs("SELL", 100, 1000.0, at) == pytest.approx(20 + 25 + 2.97 + 0.10 + 4.15)


def test_charges_flow_into_the_trade():
    bars = bars_make([1000.0] * 4, start="2024-11-04")
    result = backtest_targets(np.array([1, 0, 0, 0]), bars, quantity=100, costs=indian_costs("CNC"))
    [trade] = result.trades
    assert Decimal(repr(trade.costs)).quantize(Decimal("0.01")) == Decimal("222.24")
    assert trade.pnl == pytest.approx(-222.24)


def test_a_date_with_no_rates_is_an_error_not_a_zero():
    costs = indian_costs("CNC")
    with pytest.raises(StrategyError, match="in force on 2001-01-02"):
        costs("BUY", 1, 100.0, np.datetime64("2001-01-02T04:00", "us"))


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [({"product": "CO"}, "product 'CO'"), ({"plan_code": "NOPE"}, "brokerage plan 'NOPE'")],
)
def test_unknown_products_and_plans_are_refused(arguments, problem):
    with pytest.raises(StrategyError, match=problem):
        indian_costs(**arguments)
