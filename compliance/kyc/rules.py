"""Loads the shipped KYC rules (``compliance/kyc/data/*.csv``) into their tables."""

import csv
from pathlib import Path

from django.apps import apps as global_apps

DATA = Path(__file__).resolve().parent / "data"


def kyc_rules_load(
    apps=global_apps, *, only_if_empty: bool = False, using: str = "default"
) -> tuple[int, int]:
    """Create or update the shipped risk rules and re-KYC intervals; returns their counts.
    With ``only_if_empty`` a table that has any row is left alone (an officer's edits and
    deletions stand)."""
    rule = apps.get_model("compliance", "KycRiskRule")
    interval = apps.get_model("compliance", "ReKycInterval")
    if only_if_empty and rule.objects.using(using).exists():
        rule = None
    if only_if_empty and interval.objects.using(using).exists():
        interval = None
    with (DATA / "risk_rules.csv").open(newline="") as rows:
        rules = list(csv.DictReader(rows))
    for row in rules if rule is not None else []:
        rule.objects.using(using).update_or_create(
            factor=row["factor"], value=row["value"],
            defaults={"category": row["category"], "note": row["note"][:200]},
        )  # fmt: skip
    with (DATA / "rekyc_intervals.csv").open(newline="") as rows:
        intervals = list(csv.DictReader(rows))
    for row in intervals if interval is not None else []:
        interval.objects.using(using).update_or_create(
            category=row["category"], defaults={"months": int(row["months"])}
        )
    return len(rules), len(intervals)
