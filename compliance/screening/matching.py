"""Name matching of AML screening: pure functions, no database.

A name is normalised to tokens (accents and punctuation dropped, honorifics removed,
spelling variants folded: Mohd/Mohammed -> muhammad, -ee -> i, q -> k, doubled letters
once). Two names score 0-100 by aligning their tokens whatever their order, an initial
matching a word it starts; extra words in the longer name cost part of their weight.
Date of birth and nationality then add or take away points. The threshold and every
weight come from a :class:`Weights` (the ``MatchRule`` row), the name tables from
``data/names.json``: none of them is a literal here.
"""

import datetime as dt
import json
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

NAMES_FILE = Path(__file__).parent / "data" / "names.json"


@dataclass(frozen=True)
class Weights:
    threshold: float
    name_floor: float
    dob_exact_bonus: float
    dob_year_bonus: float
    dob_mismatch_penalty: float
    nationality_bonus: float
    nationality_mismatch_penalty: float
    #: How many points a word loses per point of edit distance ratio below 100 (2: a word
    #: 90% alike scores 80), so one letter apart (Neha/Sneha) is not the same word.
    word_strictness: float
    #: What an initial scores against a word it starts (evidence, not proof).
    initial_similarity: float
    #: The share of its weight an unmatched word of the longer name costs.
    unmatched_share: float

    @classmethod
    def of(cls, values: dict[str, Decimal | float]) -> "Weights":
        return cls(**{k: float(v) for k, v in values.items()})


@dataclass(frozen=True)
class Candidate:
    """What a list entry offers to match: its names, dates of birth and nationalities."""

    names: tuple[str, ...]
    dates_of_birth: tuple[dict[str, Any], ...] = ()
    nationalities: tuple[str, ...] = ()


@dataclass
class Match:
    score: float
    name_score: float
    matched_name: str
    is_hit: bool
    evidence: dict[str, Any] = field(default_factory=dict)


@cache
def _tables() -> tuple[frozenset[str], dict[str, str], dict[str, str]]:
    data = json.loads(NAMES_FILE.read_text(encoding="utf-8"))
    honorifics = frozenset(_fold(_ascii(h)) for h in data["honorifics"])
    variants: dict[str, str] = {}
    for canonical, spellings in data["variants"].items():
        for spelling in [canonical, *spellings]:
            variants[_fold(_ascii(spelling))] = _fold(canonical)
    countries: dict[str, str] = {}
    for country, names in data["countries"].items():
        for name in [country, *names]:
            countries[_ascii(name)] = country
    return honorifics, variants, countries


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower().strip()


def _fold(token: str) -> str:
    """One spelling for common transliteration differences of one word."""
    token = token.replace("ee", "i").replace("oo", "u").replace("q", "k").replace("w", "v")
    token = re.sub(r"(.)\1+", r"\1", token)
    if len(token) > 3 and token.endswith("y"):
        token = token[:-1] + "i"
    return token


@lru_cache(maxsize=65536)
def _normalised(name: str) -> tuple[str, ...]:
    return tuple(normalise(name))


def normalise(name: str) -> list[str]:
    """The name's tokens, folded; honorifics dropped unless nothing else would be left."""
    honorifics, variants, _ = _tables()
    raw = re.sub(r"[^a-z0-9 ]+", " ", _ascii(name).replace("'", "").replace("`", ""))
    folded = [_fold(t) for t in raw.split()]
    tokens = [variants.get(t, t) for t in folded]
    kept = [t for t in tokens if t not in honorifics]
    return kept or tokens


def _word_similarity(a: str, b: str, w: Weights) -> float:
    if a == b:
        return 100.0
    if len(a) == 1 or len(b) == 1:
        short, long_ = (a, b) if len(a) <= len(b) else (b, a)
        return w.initial_similarity if long_.startswith(short) else 0.0
    return max(0.0, 100.0 - w.word_strictness * (100.0 - fuzz.ratio(a, b)))


def _weight(token: str) -> float:
    return 2.0 if len(token) == 1 else float(max(len(token), 3))


def token_score(a: list[str], b: list[str], w: Weights) -> float:
    """0-100: the best pairing of the shorter name's words with the longer's, any order."""
    if not a or not b:
        return 0.0
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    pairs = sorted(
        (
            (_word_similarity(s, t, w), i, j)
            for i, s in enumerate(short)
            for j, t in enumerate(long_)
        ),
        reverse=True,
    )
    used_short: set[int] = set()
    used_long: set[int] = set()
    total = weights = 0.0
    for similarity, i, j in pairs:
        if i in used_short or j in used_long:
            continue
        used_short.add(i)
        used_long.add(j)
        weight = max(_weight(short[i]), _weight(long_[j])) if similarity else _weight(short[i])
        total += similarity * weight
        weights += weight
    unmatched = sum(_weight(t) for j, t in enumerate(long_) if j not in used_long)
    return total / (weights + w.unmatched_share * unmatched)


def name_score(a: str, b: str, w: Weights) -> float:
    """0-100 between two names: token alignment, or the names run together when one
    writes as one word what the other writes as two (Abdulrahman / Abdul Rahman)."""
    ta, tb = list(_normalised(a)), list(_normalised(b))
    joined = 0.0
    if len(ta) != len(tb):
        ratio = fuzz.ratio("".join(ta), "".join(tb))
        joined = max(0.0, 100.0 - w.word_strictness * (100.0 - ratio))
    return max(token_score(ta, tb, w), joined)


def country(value: str) -> str:
    """One name for a country however written (IN, Indian, India -> india)."""
    _, _, countries = _tables()
    plain = _ascii(value)
    return countries.get(plain, plain)


def _dob_evidence(dob: dt.date | None, listed: tuple[dict, ...], w: Weights) -> tuple[float, str]:
    if dob is None or not listed:
        return 0.0, "not compared (a date of birth is missing)"
    year_match = False
    for item in listed:
        if "date" in item:
            listed_date = dt.date.fromisoformat(item["date"])
            if listed_date == dob:
                return w.dob_exact_bonus, f"same date of birth {dob.isoformat()}"
            year_match |= abs(listed_date.year - dob.year) <= 1 and item.get("type") != "EXACT"
            year_match |= listed_date.year == dob.year and listed_date.month == dob.month
        elif "year" in item:
            slack = 0 if item.get("type") == "EXACT" else 1
            year_match |= abs(item["year"] - dob.year) <= slack
        elif "from_year" in item:
            year_match |= item["from_year"] <= dob.year <= item["to_year"]
    if year_match:
        return w.dob_year_bonus, f"year of birth {dob.year} fits the listing"
    return -w.dob_mismatch_penalty, f"date of birth {dob.isoformat()} fits none listed"


def _nationality_evidence(mine: str | None, listed: tuple[str, ...], w: Weights):
    if not mine or not listed:
        return 0.0, "not compared (a nationality is missing)"
    if country(mine) in {country(n) for n in listed}:
        return w.nationality_bonus, f"same nationality ({country(mine)})"
    return -w.nationality_mismatch_penalty, f"nationality {country(mine)} is not listed"


def match(
    *,
    name: str,
    candidate: Candidate,
    weights: Weights,
    date_of_birth: dt.date | None = None,
    nationality: str | None = None,
) -> Match:
    """Score a subject against one list entry (its best name or alias) and say if it hits."""
    best_name, best = "", 0.0
    for listed in candidate.names:
        score = name_score(name, listed, weights)
        if score > best:
            best_name, best = listed, score
    dob_points, dob_note = _dob_evidence(date_of_birth, candidate.dates_of_birth, weights)
    nat_points, nat_note = _nationality_evidence(nationality, candidate.nationalities, weights)
    score = max(0.0, min(100.0, best + dob_points + nat_points))
    hit = best >= weights.name_floor and score >= weights.threshold
    evidence = {
        "subject": name,
        "matched_name": best_name,
        "normalised": [" ".join(normalise(name)), " ".join(normalise(best_name))],
        "name_score": round(best, 2),
        "date_of_birth": {"points": dob_points, "note": dob_note},
        "nationality": {"points": nat_points, "note": nat_note},
        "score": round(score, 2),
        "threshold": weights.threshold,
    }
    return Match(round(score, 2), round(best, 2), best_name, hit, evidence)


#: The quick first pass of :class:`Screener` keeps names whose token-set ratio reaches this
#: share of the name floor; ``test_screening_matching`` checks it drops no hit of the set.
PREFILTER_SHARE = 0.6


class Screener:
    """Many subjects against many entries: a fast token-set pass (rapidfuzz, in C) picks
    the names worth scoring, then :func:`match` scores them."""

    def __init__(self, candidates: list[tuple[Any, Candidate, Weights]]) -> None:
        self.candidates = candidates
        self.names: list[str] = []
        self.owner: list[int] = []
        for index, (_, candidate, _) in enumerate(candidates):
            for listed in candidate.names:
                self.names.append(" ".join(_normalised(listed)))
                self.owner.append(index)
        floors = [w.name_floor for _, _, w in candidates] or [0.0]
        self.cutoff = PREFILTER_SHARE * min(floors)

    def screen(
        self, *, name: str, date_of_birth: dt.date | None = None, nationality: str | None = None
    ) -> list[tuple[Any, Match]]:
        query = " ".join(_normalised(name))
        near = process.extract(
            query, self.names, scorer=fuzz.token_set_ratio, score_cutoff=self.cutoff, limit=None
        )
        found = []
        for index in sorted({self.owner[i] for _, _, i in near}):
            ref, candidate, weights = self.candidates[index]
            result = match(
                name=name,
                candidate=candidate,
                weights=weights,
                date_of_birth=date_of_birth,
                nationality=nationality,
            )
            if result.is_hit:
                found.append((ref, result))
        return found
