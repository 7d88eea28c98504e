"""The surveillance rules: each one's parameters, their kinds, and the check an officer's
edit must pass (a bad parameter gets a clear error, never a silent default).

The rows themselves (``compliance.AlertRule``) are data, created by the migration
``0012_surveillance_rules`` with the defaults documented in docs/compliance-surveillance.md.
"""

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError

WASH_TRADE = "wash_trade"
SPOOFING = "spoofing"
ORDER_TO_TRADE = "order_to_trade"
MARKING_CLOSE = "marking_close"
FRONT_RUNNING = "front_running"
CIRCULAR_TRADING = "circular_trading"
CONCENTRATION = "concentration"

#: code -> {parameter: kind}; kinds are "count" (a whole number >= 0), "seconds" and
#: "minutes" (whole numbers > 0), "percent" (a number >= 0) and "slabs" (OTR slabs).
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


def _number(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError from None
    if not number.is_finite():
        raise ValueError
    return number


def _check(kind: str, value: Any) -> str | None:
    """Why ``value`` is not a valid ``kind``, or None."""
    if kind == "slabs":
        if not isinstance(value, list) or not value:
            return 'must be a list of slabs like [{"from": 500, "penalty_rupees": 5000}, ...]'
        previous = Decimal(-1)
        for number, slab in enumerate(value, 1):
            if not isinstance(slab, dict) or set(slab) != {"from", "penalty_rupees"}:
                return f'slab {number} must have exactly "from" and "penalty_rupees"'
            try:
                start, penalty = _number(slab["from"]), _number(slab["penalty_rupees"])
            except ValueError:
                return f"slab {number}: from and penalty_rupees must be numbers"
            if start <= previous or penalty < 0:
                return f"slab {number}: slabs rise (from) and penalties are not negative"
            previous = start
        return None
    try:
        number = _number(value)
    except ValueError:
        return f"must be a number, not {value!r}"
    if kind in ("count", "seconds", "minutes") and number != number.to_integral_value():
        return f"must be a whole number, not {value!r}"
    if kind in ("seconds", "minutes") and number <= 0:
        return f"must be more than 0, not {value!r}"
    if number < 0:
        return f"must not be negative, not {value!r}"
    if kind == "percent" and number > 100:
        return f"is a percentage: at most 100, not {value!r}"
    return None


def params_validate(code: str, params: Any) -> None:
    """Raise a ValidationError naming every bad, missing or unknown parameter of ``code``."""
    expected = PARAMS.get(code)
    if expected is None:
        raise ValidationError(f"{code!r} is not a surveillance rule this code knows")
    if not isinstance(params, dict):
        raise ValidationError("The parameters must be a JSON object of name: value.")
    errors = [f"missing parameter {key!r}" for key in expected if key not in params]
    errors += [
        f"unknown parameter {key!r} (expected: {', '.join(expected)})"
        for key in params
        if key not in expected
    ]
    for key, kind in expected.items():
        if key in params and (why := _check(kind, params[key])):
            errors.append(f"{key} {why}")
    if errors:
        raise ValidationError(errors)


def decimal(params: dict, key: str) -> Decimal:
    return Decimal(str(params[key]))
