"""The Indian charges on a backtest's fills, from the same engine the live fills use.

:func:`indian_costs` adapts ``orders.charges.charges_for_fill`` (brokerage per the plan,
STT, exchange transaction charge, SEBI fee, stamp duty and GST, to the paisa, from the
dated tables in ``orders/data/``) to the engine's ``costs`` callable. Both modules are
pure Python: no settings and no database, so a backtest with charges runs without Django.

Each fill is priced as an order of its own (brokerage's minimum and cap apply per fill),
on the trade date in IST of the bar it fills at. The price is the fill's float price as a
Decimal of its shortest repr, so a price on the tick grid is exact.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import numpy as np

from orders import charges, rates
from strategies.base import StrategyError

IST = timedelta(hours=5, minutes=30)


def indian_costs(
    product: str = "CNC", *, plan_code: str = "DISCOUNT", exchange: str = "NSE"
) -> Callable[[str, int, float, np.datetime64], float]:
    """A ``costs`` callable (side, quantity, price, bar_time) -> rupees for the engine.

    ``product`` is CNC (delivery), MIS (intraday) or NRML; ``plan_code`` a brokerage plan
    of ``orders/data/brokerage_plans.csv``. A missing rate row for a fill's date is a
    StrategyError naming it, never a silent zero.
    """
    if product not in charges.PRODUCTS:
        raise StrategyError(f"product {product!r}: choose one of {', '.join(charges.PRODUCTS)}")
    if exchange not in charges.EXCHANGES:
        raise StrategyError(f"exchange {exchange!r}: choose one of {', '.join(charges.EXCHANGES)}")
    charge_rates, plans = rates.charge_rates(), rates.brokerage_plans()
    if plan_code not in {plan.code for plan in plans}:
        known = ", ".join(sorted({plan.code for plan in plans}))
        raise StrategyError(f"brokerage plan {plan_code!r}: choose one of {known}")

    def costs(side: str, quantity: int, price: float, bar_time: np.datetime64) -> float:
        moment = np.datetime64(bar_time, "us").astype(object)  # a naive UTC datetime
        try:
            breakdown = charges.charges_for_fill(
                rates=charge_rates,
                plans=plans,
                plan_code=plan_code,
                trade_date=(moment + IST).date(),
                exchange=exchange,
                product=product,
                side=side,
                quantity=int(quantity),
                price=Decimal(repr(float(price))),
            )
        except ValueError as exc:  # RateTableError is one
            raise StrategyError(f"charges on the {side} fill at {bar_time}: {exc}") from None
        return float(breakdown.total)

    return costs
