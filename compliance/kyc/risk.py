"""The client's risk category from rules kept as data (``KycRiskRule``): the highest
category any rule gives, with every reason. Pure: no writes, one query for the rules."""

from dataclasses import dataclass
from decimal import Decimal

from compliance.kyc.choices import IncomeRange, RiskCategory

#: The top of each income range, in rupees, for turnover against income.
INCOME_CEILING = {
    IncomeRange.BELOW_1L: Decimal("100000"),
    IncomeRange.L1_5: Decimal("500000"),
    IncomeRange.L5_10: Decimal("1000000"),
    IncomeRange.L10_25: Decimal("2500000"),
    IncomeRange.L25_1CR: Decimal("10000000"),
    IncomeRange.ABOVE_1CR: Decimal("100000000"),
}
_RANK = {RiskCategory.LOW: 0, RiskCategory.MEDIUM: 1, RiskCategory.HIGH: 2}


@dataclass(frozen=True)
class RiskAssessment:
    category: str
    reasons: list[str]


def risk_assess(*, application, rules, turnover: Decimal | None = None) -> RiskAssessment:
    """``application``'s category under ``rules`` (KycRiskRule rows); ``turnover`` is the
    annual turnover to weigh against income (default: the declared one). Low if no rule
    matches."""
    turnover = application.expected_annual_turnover if turnover is None else turnover
    ratio = turnover / INCOME_CEILING[application.income_range]
    countries = {application.country, application.tax_residency_country}
    if application.fatca_us_person:
        countries.add("US")
    category, reasons = RiskCategory.LOW, []
    for rule in rules:
        if rule.factor == "pep":
            hit = application.pep and rule.value.lower() == "true"
        elif rule.factor == "country":
            hit = rule.value.upper() in countries
        elif rule.factor == "occupation":
            hit = application.occupation == rule.value
        elif rule.factor == "income_range":
            hit = application.income_range == rule.value
        elif rule.factor == "turnover_to_income":
            hit = ratio > Decimal(rule.value)
        else:
            raise ValueError(f"unknown KYC risk factor {rule.factor!r} in rule {rule.pk}")
        if hit:
            reasons.append(f"{rule.get_factor_display()}: {rule.value} -> {rule.category}")
            if _RANK[RiskCategory(rule.category)] > _RANK[category]:
                category = RiskCategory(rule.category)
    return RiskAssessment(category=str(category), reasons=reasons)
