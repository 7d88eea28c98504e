"""Tests for the prefetch predictors and the replay benchmark, on small logs with known answers."""

import importlib.util
import sys
import time
from pathlib import Path

import pytest

from marketdata.prefetch import (
    Access,
    AccessSampler,
    CoAccessPredictor,
    EnsemblePredictor,
    SectorPredictor,
    SequencePredictor,
    TimeOfDayPredictor,
    precision_recall_at_k,
    top_k,
)

OPEN = 9.25 * 3600
BENCH = Path(__file__).resolve().parents[2] / "bench" / "prefetch_replay.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("prefetch_replay", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def cycle_log(keys, *, client="c1", start=OPEN, gap=10.0, rounds=20):
    return [
        Access(start + gap * i, (keys[i % len(keys)],), client) for i in range(rounds * len(keys))
    ]


class Fixed:
    """A predictor that always scores the same keys."""

    def __init__(self, name, scores):
        self.name = name
        self._scores = scores

    def fit(self, log):
        """Fixed scores: there is nothing to learn."""

    def scores(self, now, recent):
        return dict(self._scores)


# --- SequencePredictor ---------------------------------------------------------------------


def test_sequence_learns_a_then_b_then_c():
    predictor = SequencePredictor(steps=1)
    predictor.fit(cycle_log(["A", "B", "C"]))

    after_a = predictor.scores(OPEN + 5000, [Access(OPEN + 4990, ("A",), "c1")])
    after_b = predictor.scores(OPEN + 5000, [Access(OPEN + 4990, ("B",), "c1")])
    after_c = predictor.scores(OPEN + 5000, [Access(OPEN + 4990, ("C",), "c1")])

    assert top_k(after_a, 1) == ["B"]
    assert top_k(after_b, 1) == ["C"]
    assert top_k(after_c, 1) == ["A"]
    assert after_a.get("C", 0.0) == 0.0


def test_sequence_two_steps_ranks_next_above_the_one_after():
    predictor = SequencePredictor(steps=2)
    predictor.fit(cycle_log(["A", "B", "C", "D"]))

    scores = predictor.scores(OPEN + 5000, [Access(OPEN + 4990, ("A",), "c1")])

    assert top_k(scores, 2) == ["B", "C"]
    assert scores["B"] > scores["C"] > 0.0


def test_sequence_is_per_client():
    log = sorted(
        cycle_log(["A", "B"], client="x") + cycle_log(["A", "C"], client="y", start=OPEN + 3),
        key=lambda a: a.t,
    )
    predictor = SequencePredictor(steps=1)
    predictor.fit(log)

    assert top_k(predictor.scores(OPEN + 900, [Access(OPEN + 890, ("A",), "x")]), 1) == ["B"]
    assert top_k(predictor.scores(OPEN + 900, [Access(OPEN + 890, ("A",), "y")]), 1) == ["C"]


def test_sequence_ignores_clients_silent_for_longer_than_max_gap():
    predictor = SequencePredictor(max_gap=120.0)
    predictor.fit(cycle_log(["A", "B"]))

    assert predictor.scores(OPEN + 5000, [Access(OPEN + 4000, ("A",), "c1")]) == {}


# --- TimeOfDayPredictor --------------------------------------------------------------------


def test_time_of_day_ranks_the_morning_favourite_in_the_morning():
    morning = [Access(OPEN + 20 * i, ("MORNING",), "c1") for i in range(100)]
    morning += [Access(OPEN + 20 * i + 5, ("AFTERNOON",), "c2") for i in range(10)]
    afternoon = [Access(14 * 3600 + 20 * i, ("AFTERNOON",), "c2") for i in range(100)]
    afternoon += [Access(14 * 3600 + 20 * i + 5, ("MORNING",), "c1") for i in range(10)]
    predictor = TimeOfDayPredictor()
    predictor.fit(sorted(morning + afternoon, key=lambda a: a.t))

    at_open = predictor.scores(OPEN + 600, [])
    after_lunch = predictor.scores(14 * 3600 + 600, [])

    assert at_open["MORNING"] > at_open["AFTERNOON"]
    assert after_lunch["AFTERNOON"] > after_lunch["MORNING"]


def test_time_of_day_falls_back_to_overall_popularity_in_an_unseen_bucket():
    log = [Access(OPEN + i, ("A",)) for i in range(30)] + [Access(OPEN + 40, ("B",))]
    predictor = TimeOfDayPredictor()
    predictor.fit(log)

    late = predictor.scores(15 * 3600, [])

    assert top_k(late, 2) == ["A", "B"]


# --- CoAccessPredictor ---------------------------------------------------------------------


def test_co_access_returns_batch_partners():
    log = []
    for i in range(50):
        log.append(Access(OPEN + 200 * i, ("A", "B"), f"u{i}"))
        log.append(Access(OPEN + 200 * i + 100, ("C", "D"), f"v{i}"))
    predictor = CoAccessPredictor()
    predictor.fit(log)

    scores = predictor.scores(OPEN + 20_000, [Access(OPEN + 19_990, ("A",), "z")])

    assert top_k(scores, 5) == ["B"]


def test_co_access_pairs_same_client_within_the_window_only():
    log = []
    for i in range(30):
        base = OPEN + 1000 * i
        log.append(Access(base, ("X",), "same"))
        log.append(Access(base + 10, ("Y",), "same"))
        log.append(Access(base + 5, ("Z",), "other"))
        log.append(Access(base + 500, ("W",), "same"))  # far outside the 60 s window
    predictor = CoAccessPredictor(window=60.0)
    predictor.fit(log)

    scores = predictor.scores(OPEN + 40_000, [Access(OPEN + 39_999, ("X",), "same")])

    assert scores.get("Y", 0.0) > 0.0
    assert scores.get("Z", 0.0) == 0.0
    assert scores.get("W", 0.0) == 0.0


# --- SectorPredictor -----------------------------------------------------------------------


def test_sector_predictor_returns_members_of_the_hot_sector():
    sector_of = {
        "BANK1": "BANK",
        "BANK2": "BANK",
        "BANK3": "BANK",
        "IT1": "IT",
        "IT2": "IT",
        "IT3": "IT",
    }
    counts = {"BANK1": 10, "BANK2": 5, "BANK3": 3, "IT1": 10, "IT2": 5, "IT3": 3}
    log = [
        Access(OPEN + i, (key,))
        for i, key in enumerate(key for key, n in counts.items() for _ in range(n))
    ]
    predictor = SectorPredictor(sector_of)
    predictor.fit(log)
    now = 11 * 3600
    recent = [Access(now - 10 * i, ("BANK2",)) for i in range(10)] + [Access(now - 5, ("IT1",))]

    scores = predictor.scores(now, recent)

    assert set(top_k(scores, 3)) == {"BANK1", "BANK2", "BANK3"}
    assert top_k(scores, 1) == ["BANK1"]  # the sector's most popular member, though not asked
    assert scores["BANK3"] > scores["IT1"]


# --- EnsemblePredictor ---------------------------------------------------------------------


def test_ensemble_excludes_keys_and_returns_at_most_k():
    ensemble = EnsemblePredictor(
        [
            Fixed("one", {"A": 3.0, "B": 2.0, "C": 1.0}),
            Fixed("two", {"D": 10.0, "A": 5.0, "E": 0.0}),
        ]
    )

    assert ensemble.predict(OPEN, [], k=2, exclude={"A"}) == ["D", "B"]
    assert ensemble.predict(OPEN, [], k=10) == ["A", "D", "B", "C"]  # E scores 0: no prediction
    assert ensemble.predict(OPEN, [], k=0) == []


def test_ensemble_weights_follow_validation_precision():
    log = [Access(OPEN + 10 * i, ("A",), "c1") for i in range(360)]
    useful = Fixed("useful", {"A": 1.0})
    useless = Fixed("useless", {"Z": 1.0})
    half = Fixed("half", {"A": 1.0, "Z": 1.0})
    ensemble = EnsemblePredictor([useful, useless, half])

    weights = ensemble.fit(log, validation_fraction=0.25, k=2)

    assert weights["useless"] == 0.0
    assert weights["useful"] == pytest.approx(2 * weights["half"])
    assert sum(weights.values()) == pytest.approx(1.0)
    combined = ensemble.scores(OPEN, [])
    assert combined["A"] == pytest.approx(1.0)
    assert combined["Z"] == pytest.approx(1 / 3)


def test_ensemble_refuses_duplicate_names():
    with pytest.raises(ValueError, match="unique"):
        EnsemblePredictor([Fixed("same", {}), Fixed("same", {})])


# --- precision_recall_at_k -----------------------------------------------------------------


def test_precision_recall_is_one_on_a_perfectly_predictable_log():
    log = [Access(OPEN + 10 * i, ("A",)) for i in range(360)]
    predictor = TimeOfDayPredictor()
    predictor.fit(log)

    assert precision_recall_at_k(predictor, log, k=1) == (1.0, 1.0)


def test_precision_recall_is_zero_on_an_unrelated_log():
    predictor = TimeOfDayPredictor()
    predictor.fit([Access(OPEN + 10 * i, ("A",)) for i in range(360)])
    unrelated = [Access(OPEN + 10 * i, ("X",)) for i in range(360)]

    assert precision_recall_at_k(predictor, unrelated, k=5) == (0.0, 0.0)


def test_precision_and_recall_count_predictions_and_requests():
    log = [Access(OPEN + 10 * i, ("A", "B")) for i in range(360)]

    # Two guesses, one right: precision 1/2; two keys requested, one found: recall 1/2.
    precision, recall = precision_recall_at_k(Fixed("f", {"A": 2.0, "Z": 1.0}), log, k=2)

    assert (precision, recall) == (0.5, 0.5)


def test_precision_recall_exclude_within_skips_recently_requested_keys():
    log = [Access(OPEN + 10 * i, ("A",)) for i in range(360)]

    assert precision_recall_at_k(Fixed("f", {"A": 1.0}), log, k=1, exclude_within=60.0) == (
        0.0,
        0.0,
    )


# --- AccessSampler -------------------------------------------------------------------------


def test_sampler_is_bounded_and_keeps_the_newest():
    sampler = AccessSampler(1.0, max_entries=10)
    for i in range(1000):
        sampler.record(Access(float(i), ("A",)))

    entries = sampler.entries()

    assert len(sampler) == 10
    assert [a.t for a in entries] == [float(i) for i in range(990, 1000)]
    assert sampler.seen == 1000


def test_sampler_is_deterministic_under_a_seed_and_keeps_about_rate():
    log = [Access(float(i), (f"K{i % 7}",), f"c{i % 3}") for i in range(10_000)]

    def sample(seed):
        sampler = AccessSampler(0.1, seed=seed)
        for access in log:
            sampler.record(access)
        return sampler.entries()

    first, again, other = sample(42), sample(42), sample(43)

    assert first == again
    assert first != other
    assert 800 < len(first) < 1200
    assert [a.t for a in first] == sorted(a.t for a in first)


def test_sampler_rejects_a_rate_outside_zero_to_one():
    with pytest.raises(ValueError, match="rate"):
        AccessSampler(1.5)


# --- the replay benchmark ------------------------------------------------------------------


def test_bench_prefetch_beats_cold_on_a_predictable_log():
    bench = load_bench()
    keys = [f"NSE:K{i:02d}" for i in range(20)]
    # One key every 90 s, cycling 20 keys: every key comes back after 30 min, far past the TTL,
    # so a cold cache misses every time while the next key is always predictable.
    day = cycle_log(keys, gap=90.0, rounds=4)
    ensemble = EnsemblePredictor([SequencePredictor()])
    ensemble.fit(day)

    cold = bench.replay(day, ttl=60.0, capacity=100)
    prefetched = bench.replay(
        day,
        ttl=60.0,
        capacity=100,
        warm_keys=keys[:2],
        warm_at=OPEN - 60.0,
        prefetcher=ensemble,
        budget=2,
        first_tick=OPEN,
    )

    for result in (cold, prefetched):
        assert 0.0 <= result["hit_rate"] <= 1.0
        assert result["hits"] + result["misses"] == len(day)
    assert cold["misses"] == len(day)
    assert prefetched["misses"] < cold["misses"] / 2
    assert prefetched["prefetch_fetches"] <= 2 * prefetched["prefetch_ticks"]


def test_bench_runs_end_to_end_on_a_tiny_configuration():
    bench = load_bench()
    config = bench.BenchConfig(
        seed=3,
        n_keys=40,
        n_sectors=4,
        n_clients=12,
        session_end=OPEN + 1800,
        news_per_day=(1, 1),
        budget=5,
        k=5,
        warm_nifty=5,
        warm_top=5,
    )
    began = time.perf_counter()

    result = bench.run_benchmark(config)

    assert time.perf_counter() - began < 5.0
    assert result["day2_accesses"] > 0
    for row in result["scenarios"].values():
        assert 0.0 <= row["hit_rate"] <= 1.0
        assert row["hits"] + row["misses"] == result["day2_key_lookups"]
        assert row["upstream_calls"] == (
            row["misses"] + row["warm_fetches"] + row["prefetch_fetches"]
        )
    prefetch = result["scenarios"]["warmed + prefetch"]
    assert prefetch["prefetch_fetches"] <= config.budget * prefetch["prefetch_ticks"]
    assert result["scenarios"]["cold"]["prefetch_fetches"] == 0
    assert sum(result["weights"].values()) == pytest.approx(1.0)
    for quality in result["predictor_quality_day2"].values():
        assert 0.0 <= quality["precision"] <= 1.0
        assert 0.0 <= quality["recall"] <= 1.0
    assert "warmed + prefetch" in bench.format_report(result)
