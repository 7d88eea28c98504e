"""The charge rates and brokerage plans in force, read once per process from orders/data/."""

from functools import lru_cache
from pathlib import Path

from orders.charges import BrokeragePlan, ChargeRate, load_brokerage_plans, load_charge_rates

DATA = Path(__file__).resolve().parent / "data"


@lru_cache(maxsize=1)
def charge_rates() -> tuple[ChargeRate, ...]:
    return tuple(load_charge_rates(DATA / "charge_rates.csv"))


@lru_cache(maxsize=1)
def brokerage_plans() -> tuple[BrokeragePlan, ...]:
    return tuple(load_brokerage_plans(DATA / "brokerage_plans.csv"))


def plan_codes() -> list[str]:
    return sorted({plan.code for plan in brokerage_plans()})
