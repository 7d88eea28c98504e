"""Name matching: the normalisation's cases, and precision and recall on the labelled set
of name pairs (compliance/tests/data/screening_pairs.csv) at the configured match rule."""

import datetime as dt
import random
from pathlib import Path

import pytest

from compliance.screening.evaluation import evaluate
from compliance.screening.matching import Candidate, Screener, match, normalise
from compliance.screening.selectors import MatchRuleMissing, match_weights

PAIRS = Path(__file__).parent / "data" / "screening_pairs.csv"
#: Floors the configured rule must hold on the set (measured: docs/compliance-screening.md).
PRECISION_FLOOR = 0.90
RECALL_FLOOR = 0.88


@pytest.mark.parametrize(
    ("name", "tokens"),
    [
        ("Mohd. Rafiq Qureshi", ["muhamad", "rafik", "kureshi"]),
        ("MUHAMMAD RAFIQ QURESHI", ["muhamad", "rafik", "kureshi"]),
        ("Shri Anil Banerjee", ["anil", "banerji"]),
        ("Smt. Laxmi Devi", ["lakshmi", "devi"]),
        ("Dr Abdel-Karim", ["abdul", "karim"]),
        ("Sri Venkatesh", ["venkatesh"]),
        ("M. K. Gandhi", ["m", "k", "gandhi"]),
        ("Sheikh", ["sheikh"]),  # an honorific alone is kept: it is all the name there is
    ],
)
def test_normalise(name, tokens):
    assert normalise(name) == tokens


@pytest.mark.django_db
def test_precision_and_recall_on_the_labelled_pairs_hold_their_floors():
    result = evaluate(PAIRS, match_weights(list_code="un"))
    assert result.pairs >= 200
    assert result.true_positive + result.false_negative >= 100  # matches
    assert result.false_positive + result.true_negative >= 100  # different people
    report = "\n".join(["misses:", *result.misses, "false alarms:", *result.false_alarms])
    assert result.precision >= PRECISION_FLOOR, report
    assert result.recall >= RECALL_FLOOR, report


@pytest.mark.django_db
def test_date_of_birth_and_nationality_move_the_score():
    weights = match_weights(list_code="un")
    listed = Candidate(
        names=("Imran Khan",),
        dates_of_birth=({"type": "EXACT", "date": "1952-10-05"},),
        nationalities=("Pakistan",),
    )
    bare = match(name="Imran Khan", candidate=listed, weights=weights)
    same = match(
        name="Imran Khan", candidate=listed, weights=weights,
        date_of_birth=dt.date(1952, 10, 5), nationality="PK",
    )  # fmt: skip
    other = match(
        name="Imran Khan", candidate=listed, weights=weights,
        date_of_birth=dt.date(1990, 7, 7), nationality="IN",
    )  # fmt: skip
    assert bare.is_hit
    assert same.is_hit
    assert not other.is_hit
    assert bare.score == 100
    assert other.score < weights.threshold
    assert same.evidence["date_of_birth"]["note"] == "same date of birth 1952-10-05"
    assert other.evidence["nationality"]["note"] == "nationality india is not listed"


@pytest.mark.django_db
def test_the_screener_finds_what_scoring_every_pair_finds():
    """The fast first pass drops no hit: against every listed name of the set at once."""
    import csv

    weights = match_weights(list_code="un")
    rows = list(csv.DictReader(PAIRS.open(encoding="utf-8")))
    candidates = [(i, Candidate(names=(r["name_b"],)), weights) for i, r in enumerate(rows)]
    screener = Screener(candidates)
    for row in random.Random(12).sample(rows, 60):
        brute = {
            i for i, c, w in candidates if match(name=row["name_a"], candidate=c, weights=w).is_hit
        }
        assert {i for i, _ in screener.screen(name=row["name_a"])} == brute, row["name_a"]


@pytest.mark.django_db
def test_no_match_rule_is_an_error_not_a_default():
    from compliance.screening.models import MatchRule

    MatchRule.objects.all().delete()
    with pytest.raises(MatchRuleMissing):
        match_weights(list_code="un")


@pytest.mark.django_db
def test_the_default_rule_is_made_when_missing_and_never_overwritten():
    from compliance.screening.models import MatchRule
    from compliance.screening.services import match_rule_default_ensure

    assert match_rule_default_ensure() is False  # made by migrate already
    MatchRule.objects.filter(list_code="").update(threshold=90)
    assert match_rule_default_ensure() is False
    assert match_weights(list_code="pep").threshold == 90
    MatchRule.objects.all().delete()
    assert match_rule_default_ensure() is True
    assert match_weights(list_code="pep").threshold == 84
