"""Measure the screening's precision and recall on a labelled set of name pairs."""

from pathlib import Path

from django.core.management.base import BaseCommand

from compliance.screening.evaluation import evaluate
from compliance.screening.selectors import match_weights

PAIRS = Path(__file__).resolve().parents[2] / "tests" / "data" / "screening_pairs.csv"


class Command(BaseCommand):
    help = (
        "Score every pair of a labelled CSV (name_a,dob_a,nat_a,name_b,dob_b,nat_b,label,note) "
        "with the configured match rule and print precision, recall, misses and false alarms."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", nargs="?", default=str(PAIRS))
        parser.add_argument("--list", dest="list_code", default="un", choices=["un", "pep"])

    def handle(self, *args, file: str, list_code: str, **options) -> None:
        weights = match_weights(list_code=list_code)
        result = evaluate(Path(file), weights)
        self.stdout.write(
            f"{result.pairs} pairs at threshold {weights.threshold:g}: "
            f"TP {result.true_positive}, FP {result.false_positive}, "
            f"FN {result.false_negative}, TN {result.true_negative}; "
            f"precision {result.precision:.3f}, recall {result.recall:.3f}"
        )
        for title, lines in (("Misses", result.misses), ("False alarms", result.false_alarms)):
            self.stdout.write(f"{title} ({len(lines)}):")
            for line in lines:
                self.stdout.write(f"  {line}")
