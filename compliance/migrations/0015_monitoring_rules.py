"""The transaction-monitoring (PMLA) rules with their default parameters
(docs/compliance-monitoring.md says what each one means). The defaults are frozen here;
officers tune them in the admin afterwards."""

from django.db import migrations

#: Each declared income range (the SEBI KYC form's) -> the rupees a year it is taken to be
#: at most; "above Rs 1 crore" has no upper bound on the form, so a figure is set here.
INCOME_UPPER_RUPEES = {
    "below_1l": 100000,
    "1l_5l": 500000,
    "5l_10l": 1000000,
    "10l_25l": 2500000,
    "25l_1cr": 10000000,
    "above_1cr": 50000000,
}

#: code, name, description, default parameters (frozen: later edits are the officers')
RULES = [
    (
        "income_mismatch", "Funds out of line with declared income",
        "A client's deposits, or withdrawals, over the look-back come to more than a share "
        "of the upper bound of the annual income it declared at KYC.",
        {"lookback_days": 30, "max_income_pct": 50, "income_upper_rupees": INCOME_UPPER_RUPEES},
    ),
    (
        "turnover_vs_income", "Turnover out of line with declared income",
        "A client's trading turnover (buys and sells, quantity x price) over the look-back "
        "is many times the upper bound of the annual income it declared at KYC.",
        {"lookback_days": 30, "max_multiple": 20, "income_upper_rupees": INCOME_UPPER_RUPEES},
    ),
    (
        "structuring", "Structured deposits",
        "Several deposits within the look-back, each just under a threshold: a sum split to "
        "stay under a reporting or scrutiny threshold.",
        {"lookback_days": 7, "threshold_rupees": 1000000, "band_pct": 10, "min_count": 3},
    ),
    (
        "funds_through", "Funds in and out with little trading",
        "Money paid in and taken out again within the look-back while the client hardly "
        "traded: the trading account used as a conduit.",
        {"lookback_days": 30, "min_amount": 500000, "withdrawal_pct": 80,
         "max_turnover_pct": 10},
    ),
    (
        "dormant_reactivated", "Dormant account reactivated",
        "An account with no fills, deposits or withdrawals for a long time that suddenly "
        "trades or is paid into in size.",
        {"lookback_days": 7, "dormant_days": 180, "min_amount": 500000},
    ),
    (
        "illiquid_concentration", "Trading concentrated in illiquid stocks",
        "Most of a client's turnover in stocks under the exchanges' ASM or GSM surveillance, "
        "or whose average daily market volume is thin.",
        {"lookback_days": 30, "share_pct": 50, "min_turnover": 500000,
         "max_average_daily_volume": 50000},
    ),
]  # fmt: skip


def rules_create(apps, schema_editor):
    AlertRule = apps.get_model("compliance", "AlertRule")
    for code, name, description, params in RULES:
        AlertRule.objects.get_or_create(
            code=code,
            defaults={"kind": "monitoring", "name": name, "description": description,
                      "params": params},
        )  # fmt: skip


def rules_remove(apps, schema_editor):
    AlertRule = apps.get_model("compliance", "AlertRule")
    AlertRule.objects.filter(code__in=[code for code, *_ in RULES], alerts__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0014_queue_assignees"),
    ]

    operations = [
        migrations.RunPython(rules_create, rules_remove),
    ]
