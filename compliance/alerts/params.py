"""Checking an alert rule's parameters against what its code expects: one kind per
parameter, and one message per bad, missing or unknown key (an officer's edit is refused
with all of them, never saved with a silent default).

Surveillance (``compliance.surveillance.rules``) and transaction monitoring
(``compliance.monitoring.rules``) each say their rules' parameters and kinds; the kinds
both use are here, and a package adds its own (surveillance's OTR slabs, monitoring's
income bounds) as a checker of the same shape.
"""

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError

#: A kind's check: why a value is not of the kind, or None.
Checker = Callable[[Any], str | None]

NOT_AN_OBJECT = "The parameters must be a JSON object of name: value."


def number(value: Any) -> Decimal:
    """``value`` as a finite Decimal (JSON numbers and numeric strings); ValueError if not."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise ValueError from None
    if not result.is_finite():
        raise ValueError
    return result


def _numeric(*, whole: bool = False, positive: bool = False, most: int | None = None) -> Checker:
    def check(value: Any) -> str | None:
        try:
            figure = number(value)
        except ValueError:
            return f"must be a number, not {value!r}"
        if whole and figure != figure.to_integral_value():
            return f"must be a whole number, not {value!r}"
        if positive and figure <= 0:
            return f"must be more than 0, not {value!r}"
        if figure < 0:
            return f"must not be negative, not {value!r}"
        if most is not None and figure > most:
            return f"is a percentage: at most {most}, not {value!r}"
        return None

    return check


#: The kinds every rule may use: "count" (a whole number >= 0); "seconds", "minutes" and
#: "days" (whole numbers > 0); "percent" (a number from 0 to 100); "ratio_pct" (a
#: percentage that may pass 100); "rupees" and "multiple" (numbers >= 0).
KINDS: dict[str, Checker] = {
    "count": _numeric(whole=True),
    "seconds": _numeric(whole=True, positive=True),
    "minutes": _numeric(whole=True, positive=True),
    "days": _numeric(whole=True, positive=True),
    "percent": _numeric(most=100),
    "ratio_pct": _numeric(),
    "rupees": _numeric(),
    "multiple": _numeric(),
}


def params_errors(
    expected: Mapping[str, str], params: Any, *, kinds: Mapping[str, Checker] = KINDS
) -> list[str]:
    """Every problem of ``params`` against ``expected`` ({name: kind}); empty if none."""
    if not isinstance(params, dict):
        return [NOT_AN_OBJECT]
    errors = [f"missing parameter {key!r}" for key in expected if key not in params]
    errors += [
        f"unknown parameter {key!r} (expected: {', '.join(expected)})"
        for key in params
        if key not in expected
    ]
    for key, kind in expected.items():
        if key in params and (why := kinds[kind](params[key])):
            errors.append(f"{key} {why}")
    return errors


def params_check(
    expected: Mapping[str, str] | None,
    params: Any,
    *,
    code: str,
    family: str,
    kinds: Mapping[str, Checker] = KINDS,
) -> None:
    """Raise a ValidationError naming every problem of ``params`` for the rule ``code`` of
    ``family`` ("surveillance", "monitoring"), whose parameters are ``expected``."""
    if expected is None:
        raise ValidationError(f"{code!r} is not a {family} rule this code knows")
    errors = params_errors(expected, params, kinds=kinds)
    if errors:
        raise ValidationError(errors)


def decimal(params: Mapping[str, Any], key: str) -> Decimal:
    return Decimal(str(params[key]))
