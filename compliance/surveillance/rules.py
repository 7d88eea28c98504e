"""The surveillance rules: each one's parameters, their kinds, and the check an officer's
edit must pass (a bad parameter gets a clear error, never a silent default).

The rows themselves (``compliance.AlertRule``) are data, created by the migration
``0012_surveillance_rules`` with the defaults documented in docs/compliance-surveillance.md.
"""

from decimal import Decimal
from typing import Any

from compliance.alerts import params as alert_params
from compliance.alerts.params import decimal

__all__ = ["KINDS", "PARAMS", "decimal", "params_validate"]

WASH_TRADE = "wash_trade"
SPOOFING = "spoofing"
ORDER_TO_TRADE = "order_to_trade"
MARKING_CLOSE = "marking_close"
FRONT_RUNNING = "front_running"
CIRCULAR_TRADING = "circular_trading"
CONCENTRATION = "concentration"

#: code -> {parameter: kind}; the kinds are those of ``compliance.alerts.params`` ("count",
#: "seconds", "minutes", "percent", ...) and "slabs" (OTR slabs).
PARAMS: dict[str, dict[str, str]] = {
    WASH_TRADE: {"window_seconds": "seconds", "price_tolerance_pct": "percent"},
    SPOOFING: {
        "min_quantity": "count",
        "min_distance_pct": "percent",
        "cancel_within_seconds": "seconds",
        "other_side_window_seconds": "seconds",
    },
    ORDER_TO_TRADE: {"slabs": "slabs", "exclude_within_pct": "percent", "min_orders": "count"},
    MARKING_CLOSE: {"last_minutes": "minutes", "move_pct": "percent", "min_share_pct": "percent"},
    FRONT_RUNNING: {"window_seconds": "seconds", "min_client_quantity": "count"},
    CIRCULAR_TRADING: {
        "window_seconds": "seconds",
        "leg_seconds": "seconds",
        "price_tolerance_pct": "percent",
        "min_parties": "count",
    },
    CONCENTRATION: {"share_pct": "percent", "min_quantity": "count"},
}


def _slabs(value: Any) -> str | None:
    if not isinstance(value, list) or not value:
        return 'must be a list of slabs like [{"from": 500, "penalty_rupees": 5000}, ...]'
    previous = Decimal(-1)
    for number, slab in enumerate(value, 1):
        if not isinstance(slab, dict) or set(slab) != {"from", "penalty_rupees"}:
            return f'slab {number} must have exactly "from" and "penalty_rupees"'
        try:
            start = alert_params.number(slab["from"])
            penalty = alert_params.number(slab["penalty_rupees"])
        except ValueError:
            return f"slab {number}: from and penalty_rupees must be numbers"
        if start <= previous or penalty < 0:
            return f"slab {number}: slabs rise (from) and penalties are not negative"
        previous = start
    return None


KINDS = {**alert_params.KINDS, "slabs": _slabs}


def params_validate(code: str, params: Any) -> None:
    """Raise a ValidationError naming every bad, missing or unknown parameter of ``code``."""
    alert_params.params_check(
        PARAMS.get(code), params, code=code, family="surveillance", kinds=KINDS
    )
