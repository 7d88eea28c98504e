"""The transaction-monitoring (PMLA) rules: each one's parameters, their kinds, and the
check an officer's edit must pass (a bad parameter gets a clear error, never a silent
default).

The rows themselves (``compliance.AlertRule``, kind ``monitoring``) are data, created by
the migration ``0013_monitoring_rules`` with the defaults documented in
docs/compliance-monitoring.md.
"""

from typing import Any

from compliance.alerts import params as alert_params
from compliance.alerts.params import decimal
from compliance.kyc.choices import IncomeRange

__all__ = ["KINDS", "PARAMS", "decimal", "params_validate"]

INCOME_MISMATCH = "income_mismatch"
TURNOVER_VS_INCOME = "turnover_vs_income"
STRUCTURING = "structuring"
FUNDS_THROUGH = "funds_through"
DORMANT_REACTIVATED = "dormant_reactivated"
ILLIQUID_CONCENTRATION = "illiquid_concentration"

#: code -> {parameter: kind}; the kinds are those of ``compliance.alerts.params`` and
#: "income_bounds" (each declared income range's upper bound, in rupees a year).
PARAMS: dict[str, dict[str, str]] = {
    INCOME_MISMATCH: {
        "lookback_days": "days",
        "max_income_pct": "ratio_pct",
        "income_upper_rupees": "income_bounds",
    },
    TURNOVER_VS_INCOME: {
        "lookback_days": "days",
        "max_multiple": "multiple",
        "income_upper_rupees": "income_bounds",
    },
    STRUCTURING: {
        "lookback_days": "days",
        "threshold_rupees": "rupees",
        "band_pct": "percent",
        "min_count": "count",
    },
    FUNDS_THROUGH: {
        "lookback_days": "days",
        "min_amount": "rupees",
        "withdrawal_pct": "ratio_pct",
        "max_turnover_pct": "ratio_pct",
    },
    DORMANT_REACTIVATED: {
        "lookback_days": "days",
        "dormant_days": "days",
        "min_amount": "rupees",
    },
    ILLIQUID_CONCENTRATION: {
        "lookback_days": "days",
        "share_pct": "percent",
        "min_turnover": "rupees",
        "max_average_daily_volume": "count",
    },
}


def _income_bounds(value: Any) -> str | None:
    ranges = list(IncomeRange.values)
    if not isinstance(value, dict):
        return f"must map each income range ({', '.join(ranges)}) to its upper bound in rupees"
    missing = [r for r in ranges if r not in value]
    unknown = sorted(set(value) - set(ranges))
    if missing or unknown:
        said = [f"missing {', '.join(missing)}"] if missing else []
        said += [f"unknown {', '.join(unknown)}"] if unknown else []
        return f"must have exactly the income ranges ({'; '.join(said)})"
    for income_range in ranges:
        try:
            bound = alert_params.number(value[income_range])
        except ValueError:
            return f"{income_range} must be a number of rupees, not {value[income_range]!r}"
        if bound <= 0:
            return f"{income_range} must be more than 0, not {value[income_range]!r}"
    return None


KINDS = {**alert_params.KINDS, "income_bounds": _income_bounds}


def params_validate(code: str, params: Any) -> None:
    """Raise a ValidationError naming every bad, missing or unknown parameter of ``code``."""
    alert_params.params_check(PARAMS.get(code), params, code=code, family="monitoring", kinds=KINDS)
