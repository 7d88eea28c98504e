"""Precision and recall of the matching on a labelled set of name pairs (CSV with
``name_a,dob_a,nat_a,name_b,dob_b,nat_b,label,note``); used by the tests and by
``python manage.py screening_evaluate``.

In the set, side b is the listed one: its date of birth is ``YYYY-MM-DD``, ``YYYY`` (that
year) or ``~YYYY`` (about that year, as the UN list says "APPROXIMATELY").
"""

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from compliance.screening.matching import Candidate, Weights, match


@dataclass
class Evaluation:
    pairs: int
    true_positive: int
    false_positive: int
    false_negative: int
    true_negative: int
    misses: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        raised = self.true_positive + self.false_positive
        return self.true_positive / raised if raised else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positive + self.false_negative
        return self.true_positive / wanted if wanted else 1.0


def _listed_dob(value: str) -> tuple[dict, ...]:
    if not value:
        return ()
    if value.startswith("~"):
        return ({"type": "APPROXIMATELY", "year": int(value[1:])},)
    if len(value) == 4:
        return ({"type": "EXACT", "year": int(value)},)
    return ({"type": "EXACT", "date": value},)


def evaluate(path: Path, weights: Weights) -> Evaluation:
    result = Evaluation(0, 0, 0, 0, 0)
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            found = match(
                name=row["name_a"],
                date_of_birth=dt.date.fromisoformat(row["dob_a"]) if row["dob_a"] else None,
                nationality=row["nat_a"] or None,
                candidate=Candidate(
                    names=(row["name_b"],),
                    dates_of_birth=_listed_dob(row["dob_b"]),
                    nationalities=(row["nat_b"],) if row["nat_b"] else (),
                ),
                weights=weights,
            )
            result.pairs += 1
            wanted = row["label"] == "match"
            line = f"{row['name_a']} ~ {row['name_b']}: {found.score} ({row['note']})"
            if wanted and found.is_hit:
                result.true_positive += 1
            elif wanted:
                result.false_negative += 1
                result.misses.append(line)
            elif found.is_hit:
                result.false_positive += 1
                result.false_alarms.append(line)
            else:
                result.true_negative += 1
    return result
