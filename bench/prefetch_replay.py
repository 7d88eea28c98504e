"""Replay a synthetic trading day through a simulated price cache, with and without prefetching.

Usage: ``python bench/prefetch_replay.py [--seed N] [--json out.json]``

Every figure printed is counted while replaying accesses; nothing is assumed.

Synthetic access model (deterministic under ``--seed``):

- Universe: ``n_keys`` (500) instrument keys such as ``NSE:BANK07`` in 12 sectors of unequal
  size. Popularity is Zipf-like (weight ``1 / rank ** 1.1`` over a random ranking); the
  "NIFTY 50" is the 50 most popular keys.
- Population: ``n_clients`` (200) clients with a watchlist of 5-30 keys drawn (weighted by
  popularity) from 1-3 sectors, kept in a fixed order. Three kinds: traders (about half) ask
  for one key at a time, cycling through the watchlist; desks (about 30%) page through it in
  batches of 3-8; algos (the rest) poll the whole watchlist as one batch every 5-60 s.
- Intensity: a client's mean gap between calls is divided by an intraday U-shape that is 1.0
  at 09:15, falls to 0.3 at 13:00, is back to 1.0 at 15:00 and stays there until 15:30.
  Traders' gaps are gamma-distributed (shape 4), algos' within 10% of their cadence.
- Each day draws again: when each client logs in and out (30% start late, 30% leave early),
  whether a trader or desk takes a lunch break, every gap, 5-9 "sector news" bursts (a
  sector chosen by popularity gets 0.5-1.5 extra calls per second for 10-30 minutes, of 1-3
  popular members, from clients who watch that sector) and one-off lookups of uniformly
  random keys (0.05 per second at full intensity).
- Session 09:15-15:30 IST; ``t`` is seconds since midnight.

Protocol: the population (universe, clients, watchlists) is generated once; day 1 and day 2
are drawn from it with different derived seeds. The predictors are fitted on a 10% sample of
day 1 (``AccessSampler``), then day 2 is replayed through a TTL cache (60 s, LRU bounded at
2000 entries, virtual clock; an entry fetched at t serves until t + TTL) in three scenarios:
cold; warmed at the 09:15 open with the NIFTY 50 plus the 50 most-accessed keys of the day-1 sample;
warmed plus prefetching, where once per minute the ensemble picks up to ``budget`` keys that
are not live in the cache and they are fetched. The prefetcher sees every day-2 access of
the last five minutes as its recent context (``--recent-rate`` samples that too). A fourth
row replays the same prefetch loop with a naive baseline (recently popular keys) so the
ensemble has something to beat.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from marketdata.prefetch import (  # noqa: E402 - the script runs from bench/
    Access,
    AccessSampler,
    CoAccessPredictor,
    EnsemblePredictor,
    Predictor,
    SectorPredictor,
    SequencePredictor,
    TimeOfDayPredictor,
    precision_recall_at_k,
)

SECTORS = (
    "BANK",
    "IT",
    "PHARMA",
    "AUTO",
    "FMCG",
    "METAL",
    "ENERGY",
    "INFRA",
    "REALTY",
    "TELECOM",
    "MEDIA",
    "CHEM",
)
HOUR = 3600.0


@dataclass(frozen=True)
class BenchConfig:
    seed: int = 7
    n_keys: int = 500
    n_sectors: int = 12
    n_clients: int = 200
    zipf_s: float = 1.1
    session_start: float = 9.25 * HOUR
    session_end: float = 15.5 * HOUR
    trough: float = 13.0 * HOUR
    second_peak: float = 15.0 * HOUR
    news_per_day: tuple[int, int] = (5, 9)
    random_rate: float = 0.05
    ttl: float = 60.0
    capacity: int = 2000
    sample_rate: float = 0.1
    sample_max_entries: int = 200_000
    warm_nifty: int = 50
    warm_top: int = 50
    budget: int = 100
    interval: float = 60.0
    k: int = 100
    horizon: float = 60.0
    lookback: float = 300.0
    validation_fraction: float = 0.2
    recent_rate: float = 1.0


@dataclass(frozen=True)
class Client:
    id: str
    kind: str
    watchlist: tuple[str, ...]
    sectors: tuple[str, ...]
    batch: int
    gap: float


@dataclass(frozen=True)
class Population:
    keys: tuple[str, ...]
    sector_of: dict[str, str]
    popularity: dict[str, float]
    nifty50: tuple[str, ...]
    clients: tuple[Client, ...]


def _seed(config: BenchConfig, purpose: int) -> int:
    # Integer arithmetic, never hash(): the derived seeds must be the same in every process.
    return config.seed * 1_000 + purpose


def _weighted_sample(
    rng: random.Random, items: Sequence[str], weights: Sequence[float], n: int
) -> list[str]:
    """``n`` distinct items drawn with probability proportional to weight (Efraimidis-Spirakis)."""
    keyed = [(rng.random() ** (1.0 / w), item) for item, w in zip(items, weights, strict=True)]
    keyed.sort(reverse=True)
    return [item for _, item in keyed[:n]]


def _split(total: int, weights: Sequence[float], minimum: int) -> list[int]:
    """Integers >= minimum proportional to weights that add up to total (largest remainder)."""
    spare = total - minimum * len(weights)
    raw = [spare * w / sum(weights) for w in weights]
    sizes = [math.floor(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (sizes[i] - raw[i], i))
    for i in order[: spare - sum(sizes)]:
        sizes[i] += 1
    return [minimum + s for s in sizes]


def generate_population(config: BenchConfig) -> Population:
    rng = random.Random(_seed(config, 1))  # noqa: S311 - simulation, not security
    sectors = [SECTORS[i] if i < len(SECTORS) else f"SEC{i + 1}" for i in range(config.n_sectors)]
    sizes = _split(config.n_keys, [rng.uniform(0.5, 2.0) for _ in sectors], minimum=3)
    sector_of: dict[str, str] = {}
    for sector, size in zip(sectors, sizes, strict=True):
        for j in range(size):
            sector_of[f"NSE:{sector}{j + 1:02d}"] = sector
    keys = tuple(sector_of)
    ranks = list(range(len(keys)))
    rng.shuffle(ranks)
    popularity = {
        key: 1.0 / (rank + 1) ** config.zipf_s for key, rank in zip(keys, ranks, strict=True)
    }
    by_popularity = sorted(keys, key=lambda key: (-popularity[key], key))
    nifty50 = tuple(by_popularity[: config.warm_nifty])
    members = {s: [k for k in keys if sector_of[k] == s] for s in sectors}
    sector_weight = [sum(popularity[k] for k in members[s]) ** 0.5 for s in sectors]

    clients = []
    for i in range(config.n_clients):
        roll = rng.random()
        n_sectors = min(rng.choice((1, 1, 2, 2, 3)), len(sectors))
        chosen = _weighted_sample(rng, sectors, sector_weight, n_sectors)
        kind = "trader" if roll < 0.5 else "desk" if roll < 0.8 else "algo"
        # Algos trade liquid names, so their watchlists lean harder on popularity.
        skew = 1.5 if kind == "algo" else 1.0
        pool = [k for s in chosen for k in members[s]]
        size = min(rng.randint(5, 30), len(pool))
        inside = max(1, round(size * 0.75))
        watchlist = _weighted_sample(rng, pool, [popularity[k] ** skew for k in pool], inside)
        outside = [k for k in keys if sector_of[k] not in chosen]
        watchlist += _weighted_sample(
            rng, outside, [popularity[k] ** skew for k in outside], size - inside
        )
        rng.shuffle(watchlist)
        if kind == "trader":
            batch, gap = 1, rng.uniform(8.0, 30.0)
        elif kind == "desk":
            batch, gap = rng.randint(3, 8), rng.uniform(15.0, 45.0)
        else:
            batch, gap = len(watchlist), float(rng.choice((10, 30, 60, 120, 300)))
        clients.append(
            Client(
                id=f"{kind}-{i:03d}",
                kind=kind,
                watchlist=tuple(watchlist),
                sectors=tuple(sorted(chosen)),
                batch=min(batch, len(watchlist)),
                gap=gap,
            )
        )
    return Population(keys, sector_of, popularity, nifty50, tuple(clients))


def intensity(t: float, config: BenchConfig) -> float:
    """Intraday U-shape: 1.0 at the open, 0.3 at 13:00, 1.0 again from 15:00 to the close."""
    floor = 0.3
    if t <= config.trough:
        x = (config.trough - t) / (config.trough - config.session_start)
    elif t <= config.second_peak:
        x = (t - config.trough) / (config.second_peak - config.trough)
    else:
        x = 1.0
    return floor + (1.0 - floor) * min(1.0, x) ** 2


def generate_day(population: Population, config: BenchConfig, day: int) -> list[Access]:
    """All accesses of one trading day, time-ordered."""
    rng = random.Random(_seed(config, 100 + day))  # noqa: S311 - simulation, not security
    start, end = config.session_start, config.session_end
    accesses: list[Access] = []

    for client in population.clients:
        login = start if rng.random() < 0.7 else start + rng.expovariate(1.0 / 1800.0)
        logout = end if rng.random() < 0.7 else end - rng.expovariate(1.0 / 3600.0)
        lunch = (math.inf, math.inf)
        if client.kind != "algo" and rng.random() < 0.4:
            lunch_start = 12.5 * HOUR + rng.uniform(-1800.0, 1800.0)
            lunch = (lunch_start, lunch_start + rng.uniform(1200.0, 3600.0))
        t = login + rng.uniform(0.0, client.gap)
        # People work in spells (mean 45 min) with pauses (mean 25 min); algos run throughout.
        spell_end = math.inf if client.kind == "algo" else t + rng.expovariate(1.0 / 2700.0)
        position, n = 0, len(client.watchlist)
        while t < logout:
            if lunch[0] <= t < lunch[1]:
                t = lunch[1]
                continue
            if t >= spell_end:
                t += rng.expovariate(1.0 / 1500.0)
                spell_end = t + rng.expovariate(1.0 / 2700.0)
                continue
            keys = tuple(client.watchlist[(position + j) % n] for j in range(client.batch))
            position = (position + client.batch) % n
            accesses.append(Access(t, keys, client.id))
            mean = client.gap / intensity(t, config)
            if client.kind == "algo":
                t += mean * rng.uniform(0.9, 1.1)
            else:
                t += rng.gammavariate(4.0, mean / 4.0)

    sectors = sorted(set(population.sector_of.values()))
    members = {s: [k for k in population.keys if population.sector_of[k] == s] for s in sectors}
    sector_weight = [sum(population.popularity[k] for k in members[s]) ** 0.5 for s in sectors]
    for _ in range(rng.randint(*config.news_per_day)):
        sector = rng.choices(sectors, weights=sector_weight)[0]
        burst_start = rng.uniform(start, end - 600.0)
        burst_end = min(end, burst_start + rng.uniform(600.0, 1800.0))
        rate = rng.uniform(0.5, 1.5)
        watchers = [c.id for c in population.clients if sector in c.sectors]
        watchers = watchers or [c.id for c in population.clients]
        pool = members[sector]
        weights = [population.popularity[k] for k in pool]
        t = burst_start + rng.expovariate(rate)
        while t < burst_end:
            size = min(rng.choice((1, 1, 1, 2, 3)), len(pool))
            keys = tuple(_weighted_sample(rng, pool, weights, size))
            accesses.append(Access(t, keys, rng.choice(watchers)))
            t += rng.expovariate(rate)

    t = start + rng.expovariate(config.random_rate)
    while t < end:
        if rng.random() < intensity(t, config):
            key = rng.choice(population.keys)
            accesses.append(Access(t, (key,), rng.choice(population.clients).id))
        t += rng.expovariate(config.random_rate)

    accesses.sort(key=lambda access: access.t)
    return accesses


class SimCache:
    """TTL + LRU cache on a virtual clock that counts what the price cache would do upstream."""

    def __init__(self, *, ttl: float, capacity: int) -> None:
        self.ttl = ttl
        self.capacity = capacity
        # key -> [expires_at, origin]; origin is "demand", "warm" or "prefetch" until first hit.
        self._entries: OrderedDict[str, list] = OrderedDict()
        self.hits = self.misses = 0
        self.warm_fetches = self.warm_used = 0
        self.prefetch_fetches = self.prefetch_used = 0
        self.evictions = 0

    def _store(self, key: str, now: float, origin: str) -> None:
        self._entries[key] = [now + self.ttl, origin]
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
            self.evictions += 1

    def get_many(self, keys: Iterable[str], now: float) -> None:
        entries = self._entries
        for key in keys:
            entry = entries.get(key)
            if entry is not None and entry[0] > now:
                self.hits += 1
                entries.move_to_end(key)
                if entry[1] == "prefetch":
                    self.prefetch_used += 1
                elif entry[1] == "warm":
                    self.warm_used += 1
                entry[1] = "demand"
            else:
                self.misses += 1
                self._store(key, now, "demand")

    def warm(self, keys: Iterable[str], now: float) -> None:
        for key in keys:
            self.warm_fetches += 1
            self._store(key, now, "warm")

    def prefetch(self, keys: Iterable[str], now: float) -> None:
        for key in keys:
            self.prefetch_fetches += 1
            self._store(key, now, "prefetch")

    def live_keys(self, now: float) -> set[str]:
        return {key for key, entry in self._entries.items() if entry[0] > now}

    def summary(self) -> dict[str, float | int | None]:
        lookups = self.hits + self.misses
        return {
            "lookups": lookups,
            "hits": self.hits,
            "misses": self.misses,
            "hit_rate": self.hits / lookups if lookups else 0.0,
            "warm_fetches": self.warm_fetches,
            "warm_used": self.warm_used,
            "prefetch_fetches": self.prefetch_fetches,
            "prefetch_used": self.prefetch_used,
            "prefetch_precision": (
                self.prefetch_used / self.prefetch_fetches if self.prefetch_fetches else None
            ),
            "upstream_calls": self.misses + self.warm_fetches + self.prefetch_fetches,
            "evictions": self.evictions,
        }


class Prefetcher(Protocol):
    def predict(
        self, now: float, recent: Sequence[Access], *, k: int, exclude: Collection[str] = ()
    ) -> list[str]: ...


def replay(
    accesses: Sequence[Access],
    *,
    ttl: float,
    capacity: int,
    warm_keys: Sequence[str] = (),
    warm_at: float = 0.0,
    prefetcher: Prefetcher | None = None,
    budget: int = 0,
    first_tick: float = 0.0,
    interval: float = 60.0,
    lookback: float = 300.0,
    recent_sampler: AccessSampler | None = None,
) -> dict:
    """Replay ``accesses`` through a fresh cache; optionally warm it and prefetch every interval.

    At each tick the prefetcher sees the accesses of (tick - lookback, tick) that it was shown
    (all of them, or those ``recent_sampler`` keeps) and may fetch up to ``budget`` keys that
    are not live in the cache. Returns the cache's counters plus timing of the predictions.
    """
    cache = SimCache(ttl=ttl, capacity=capacity)
    if warm_keys:
        cache.warm(warm_keys, warm_at)
    recent: deque[Access] = deque()
    next_tick = first_tick if prefetcher is not None and budget > 0 else math.inf
    ticks = 0
    predict_seconds = 0.0

    def tick(now: float) -> None:
        nonlocal ticks, predict_seconds
        while recent and recent[0].t <= now - lookback:
            recent.popleft()
        began = time.perf_counter()
        chosen = prefetcher.predict(now, list(recent), k=budget, exclude=cache.live_keys(now))
        predict_seconds += time.perf_counter() - began
        ticks += 1
        cache.prefetch(chosen, now)

    for access in accesses:
        while access.t >= next_tick:
            tick(next_tick)
            next_tick += interval
        cache.get_many(access.keys, access.t)
        if recent_sampler is None or recent_sampler.record(access):
            recent.append(access)

    result = cache.summary()
    result["prefetch_ticks"] = ticks
    result["predict_ms_per_tick"] = 1000.0 * predict_seconds / ticks if ticks else None
    return result


class RecentPopularity:
    """Baseline: keys by recency-weighted number of requests in the recent window."""

    name = "recent_popularity"

    def __init__(self, *, tau: float = 120.0) -> None:
        self.tau = tau

    def fit(self, log: Sequence[Access]) -> None:
        return None

    def scores(self, now: float, recent: Sequence[Access]) -> dict[str, float]:
        out: dict[str, float] = {}
        for access in recent:
            w = math.exp(-(now - access.t) / self.tau)
            for key in access.keys:
                out[key] = out.get(key, 0.0) + w
        return out


def make_predictors(population: Population, config: BenchConfig) -> list[Predictor]:
    return [
        SequencePredictor(),
        TimeOfDayPredictor(horizon=config.horizon),
        CoAccessPredictor(window=60.0),
        SectorPredictor(population.sector_of),
    ]


def most_accessed(log: Iterable[Access], n: int) -> list[str]:
    counts: Counter[str] = Counter()
    for access in log:
        counts.update(access.keys)
    return [key for key, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:n]]


@dataclass
class Timer:
    phases: dict[str, float] = field(default_factory=dict)

    def mark(self, phase: str, began: float) -> float:
        now = time.perf_counter()
        self.phases[phase] = round(now - began, 3)
        return now


def run_benchmark(config: BenchConfig, *, population: Population | None = None) -> dict:
    """Generate two days, fit on a sample of day 1, replay day 2 in every scenario."""
    wall = time.perf_counter()
    timer = Timer()
    began = wall
    population = population or generate_population(config)
    day1 = generate_day(population, config, day=1)
    day2 = generate_day(population, config, day=2)
    began = timer.mark("generate", began)

    sampler = AccessSampler(
        config.sample_rate, seed=_seed(config, 11), max_entries=config.sample_max_entries
    )
    for access in day1:
        sampler.record(access)
    sample = sampler.entries()
    ensemble = EnsemblePredictor(
        make_predictors(population, config), horizon=config.horizon, lookback=config.lookback
    )
    weights = ensemble.fit(sample, validation_fraction=config.validation_fraction, k=config.k)
    began = timer.mark("fit", began)

    warm_keys = list(dict.fromkeys([*population.nifty50, *most_accessed(sample, config.warm_top)]))
    warm_at = config.session_start  # the warming job runs at the open, before the first lookup
    common = {"ttl": config.ttl, "capacity": config.capacity}
    prefetch = {
        "budget": config.budget,
        "first_tick": config.session_start,
        "interval": config.interval,
        "lookback": config.lookback,
    }

    def recent_sampler() -> AccessSampler | None:
        if config.recent_rate >= 1.0:
            return None
        return AccessSampler(config.recent_rate, seed=_seed(config, 12), max_entries=100_000)

    scenarios = {
        "cold": replay(day2, **common),
        "warmed": replay(day2, **common, warm_keys=warm_keys, warm_at=warm_at),
        "warmed + prefetch": replay(
            day2,
            **common,
            warm_keys=warm_keys,
            warm_at=warm_at,
            prefetcher=ensemble,
            recent_sampler=recent_sampler(),
            **prefetch,
        ),
        "warmed + prefetch [baseline]": replay(
            day2,
            **common,
            warm_keys=warm_keys,
            warm_at=warm_at,
            prefetcher=EnsemblePredictor([RecentPopularity()], horizon=config.horizon),
            recent_sampler=recent_sampler(),
            **prefetch,
        ),
    }
    began = timer.mark("replay", began)

    quality = {}
    baseline = RecentPopularity()
    for predictor in [*ensemble.predictors, ensemble, baseline]:
        walk = {
            "k": config.k,
            "horizon": config.horizon,
            "step": config.interval,
            "lookback": config.lookback,
        }
        precision, recall = precision_recall_at_k(predictor, day2, **walk)
        # The prefetcher never fetches a live key, so also score only keys not asked for
        # within the last TTL (a proxy for "not in the cache").
        novel_precision, novel_recall = precision_recall_at_k(
            predictor, day2, **walk, exclude_within=config.ttl
        )
        quality[predictor.name] = {
            "precision": precision,
            "recall": recall,
            "precision_uncached": novel_precision,
            "recall_uncached": novel_recall,
        }
    timer.mark("precision_recall", began)

    return {
        "config": asdict(config),
        "population": {
            "keys": len(population.keys),
            "sectors": len(set(population.sector_of.values())),
            "clients": Counter(c.kind for c in population.clients),
        },
        "day1_accesses": len(day1),
        "day2_accesses": len(day2),
        "day2_key_lookups": sum(len(a.keys) for a in day2),
        "day1_sample": len(sample),
        "warm_keys": len(warm_keys),
        "warm_at": warm_at,
        "warm_expires_at": warm_at + config.ttl,
        "first_day2_access": day2[0].t if day2 else None,
        "weights": weights,
        "validation_precision": ensemble.validation_precision,
        "scenarios": scenarios,
        "predictor_quality_day2": quality,
        "phase_seconds": timer.phases,
        "wall_seconds": round(time.perf_counter() - wall, 3),
    }


def _clock(t: float) -> str:
    seconds = round(t)
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def format_report(result: dict) -> str:
    config = result["config"]
    kinds = ", ".join(f"{n} {kind}s" for kind, n in sorted(result["population"]["clients"].items()))
    lines = [
        f"prefetch replay, seed {config['seed']}: {result['population']['keys']} keys in "
        f"{result['population']['sectors']} sectors, {config['n_clients']} clients "
        f"({kinds})",
        f"day 1: {result['day1_accesses']} accesses, sampled at {config['sample_rate']:g} -> "
        f"{result['day1_sample']} used for fitting",
        f"day 2: {result['day2_accesses']} accesses, {result['day2_key_lookups']} key lookups; "
        f"cache TTL {config['ttl']:g} s, capacity {config['capacity']} (LRU); prefetch budget "
        f"{config['budget']} keys/min; prefetcher's recent context sampled at "
        f"{config['recent_rate']:g}",
        f"warming: {result['warm_keys']} keys at {_clock(result['warm_at'])}, "
        f"live until {_clock(result['warm_expires_at'])}; first day-2 access at "
        f"{_clock(result['first_day2_access'] or 0)}",
        "",
        f"{'scenario':<30}{'hit rate':>9}{'misses':>8}{'warm':>9}{'warm':>6}{'prefetch':>10}"
        f"{'upstream':>10}{'prefetch':>11}",
        f"{'':<30}{'%':>9}{'':>8}{'fetches':>9}{'hits':>6}{'fetches':>10}{'calls':>10}"
        f"{'precision':>11}",
    ]
    for name, row in result["scenarios"].items():
        precision = row["prefetch_precision"]
        lines.append(
            f"{name:<30}{100 * row['hit_rate']:>9.2f}{row['misses']:>8}{row['warm_fetches']:>9}"
            f"{row['warm_used']:>6}{row['prefetch_fetches']:>10}{row['upstream_calls']:>10}"
            f"{'-' if precision is None else f'{100 * precision:.1f}%':>11}"
        )
    lines.append("(upstream calls = misses + warm fetches + prefetch fetches)")
    lines.append("")
    weights = ", ".join(
        f"{name} {w:.3f} (val. precision {result['validation_precision'][name]:.3f})"
        for name, w in result["weights"].items()
    )
    lines.append(f"ensemble weights: {weights}")
    ms = result["scenarios"]["warmed + prefetch"]["predict_ms_per_tick"]
    if ms is not None:
        lines.append(f"ensemble prediction: {ms:.1f} ms per minute tick")
    lines.append("")
    k = config["k"]
    lines.append(
        f"day 2, every {config['interval']:g} s, horizon {config['horizon']:g} s, lookback "
        f"{config['lookback']:g} s; 'uncached' leaves out keys asked for in the last "
        f"{config['ttl']:g} s"
    )
    lines.append(
        f"  {'predictor':<30}{f'P@{k}':>8}{f'R@{k}':>8}{f'P@{k} uncached':>16}"
        f"{f'R@{k} uncached':>16}"
    )
    for name, q in result["predictor_quality_day2"].items():
        label = f"{name} (baseline)" if name == RecentPopularity.name else name
        lines.append(
            f"  {label:<30}{q['precision']:>8.3f}{q['recall']:>8.3f}"
            f"{q['precision_uncached']:>16.3f}{q['recall_uncached']:>16.3f}"
        )
    phases = ", ".join(f"{phase} {s:.1f} s" for phase, s in result["phase_seconds"].items())
    lines.append("")
    lines.append(f"wall time {result['wall_seconds']:.1f} s ({phases})")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=BenchConfig.seed)
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument("--clients", type=int, default=BenchConfig.n_clients)
    parser.add_argument("--keys", type=int, default=BenchConfig.n_keys)
    parser.add_argument("--budget", type=int, default=BenchConfig.budget)
    parser.add_argument(
        "--recent-rate",
        type=float,
        default=BenchConfig.recent_rate,
        help="share of day-2 accesses the prefetcher sees as recent context (default 1.0)",
    )
    args = parser.parse_args(argv)
    config = BenchConfig(
        seed=args.seed,
        n_clients=args.clients,
        n_keys=args.keys,
        budget=args.budget,
        recent_rate=args.recent_rate,
    )
    result = run_benchmark(config)
    print(format_report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
