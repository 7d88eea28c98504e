"""Loads the shipped KYC rules (``compliance/kyc/data/*.csv``) into their tables."""

import csv
from pathlib import Path

from django.apps import apps as global_apps

DATA = Path(__file__).resolve().parent / "data"


def kyc_rules_load(apps=global_apps) -> tuple[int, int]:
    """Create or update the shipped risk rules and re-KYC intervals; returns their counts."""
    rule = apps.get_model("compliance", "KycRiskRule")
    interval = apps.get_model("compliance", "ReKycInterval")
    with (DATA / "risk_rules.csv").open(newline="") as rows:
        rules = list(csv.DictReader(rows))
    for row in rules:
        rule.objects.update_or_create(
            factor=row["factor"], value=row["value"],
            defaults={"category": row["category"], "note": row["note"][:200]},
        )  # fmt: skip
    with (DATA / "rekyc_intervals.csv").open(newline="") as rows:
        intervals = list(csv.DictReader(rows))
    for row in intervals:
        interval.objects.update_or_create(
            category=row["category"], defaults={"months": int(row["months"])}
        )
    return len(rules), len(intervals)
