"""Predictors for prefetching the price cache: which instrument keys will be asked for soon.

Each predictor learns from a (sampled) access log and scores keys given the accesses of the
last few minutes; ``EnsemblePredictor`` weights them by their measured precision on held-out
data. Pure Python and numpy: no Django, no I/O, so it runs the same in a worker, a benchmark
or a test. Nothing here uses the built-in ``hash()`` or iterates a set where order matters, so
results are identical from one process to the next.
"""

from __future__ import annotations

import heapq
import math
import random
from bisect import bisect_right
from collections import Counter, deque
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Protocol, runtime_checkable

import numpy as np

BUCKET_SECONDS = 900.0


@dataclass(frozen=True)
class Access:
    """One call to the price cache: keys asked for together, at ``t`` seconds after midnight IST."""

    t: float
    keys: tuple[str, ...]
    client: str = ""


@runtime_checkable
class Predictor(Protocol):
    name: str

    def fit(self, log: Sequence[Access]) -> None: ...

    def scores(self, now: float, recent: Sequence[Access]) -> dict[str, float]: ...


def top_k(scores: Mapping[str, float], k: int, exclude: Collection[str] = ()) -> list[str]:
    """The ``k`` keys with the highest positive score, ties broken by key so the order is stable."""
    if k <= 0:
        return []
    candidates = (
        (score, key) for key, score in scores.items() if score > 0.0 and key not in exclude
    )
    best = heapq.nsmallest(k, candidates, key=lambda item: (-item[0], item[1]))
    return [key for _, key in best]


def _unique(keys: Sequence[str]) -> tuple[str, ...]:
    # dict.fromkeys keeps first-seen order; a set would make float sums depend on hash salt.
    return tuple(dict.fromkeys(keys))


class SequencePredictor:
    """What a client asks for next: transitions from the keys of one call to the keys of its next.

    Transitions are counted per client and for everybody; a client's own row is trusted in
    proportion to how often that client was seen leaving the key (``client_prior`` is the number
    of observations at which the two count equally). Scores follow ``steps`` transitions from
    each active client's last call, later steps discounted by ``decay``. Accesses without a
    client carry no sequence and are ignored.
    """

    name = "sequence"

    def __init__(
        self,
        *,
        max_gap: float = 600.0,
        steps: int = 2,
        decay: float = 0.5,
        beam: int = 16,
        client_prior: float = 2.0,
    ) -> None:
        self.max_gap = max_gap
        self.steps = max(1, steps)
        self.decay = decay
        self.beam = beam
        self.client_prior = client_prior
        self._global: dict[str, dict[str, float]] = {}
        self._client: dict[tuple[str, str], dict[str, float]] = {}
        self._client_n: dict[tuple[str, str], int] = {}
        self._row_memo: dict[tuple[str, str], dict[str, float]] = {}
        self._next_memo: dict[tuple[str, tuple[str, ...]], dict[str, float]] = {}

    def fit(self, log: Sequence[Access]) -> None:
        global_counts: dict[str, dict[str, float]] = {}
        global_n: Counter[str] = Counter()
        client_counts: dict[tuple[str, str], dict[str, float]] = {}
        client_n: Counter[tuple[str, str]] = Counter()
        last: dict[str, Access] = {}
        for access in log:
            if not access.client:
                continue
            prev = last.get(access.client)
            last[access.client] = access
            if prev is None or not 0.0 <= access.t - prev.t <= self.max_gap:
                continue
            following = _unique(access.keys)
            for src in _unique(prev.keys):
                grow = global_counts.setdefault(src, {})
                crow = client_counts.setdefault((access.client, src), {})
                for dst in following:
                    grow[dst] = grow.get(dst, 0.0) + 1.0
                    crow[dst] = crow.get(dst, 0.0) + 1.0
                global_n[src] += 1
                client_n[(access.client, src)] += 1
        self._global = {
            src: {dst: c / global_n[src] for dst, c in row.items()}
            for src, row in global_counts.items()
        }
        self._client = {
            pair: {dst: c / client_n[pair] for dst, c in row.items()}
            for pair, row in client_counts.items()
        }
        self._client_n = dict(client_n)
        self._row_memo = {}
        self._next_memo = {}

    def _row(self, client: str, src: str) -> dict[str, float]:
        """P(key in the next call | src in this call), blended from the client's and everyone's."""
        memo_key = (client, src)
        row = self._row_memo.get(memo_key)
        if row is not None:
            return row
        own = self._client.get(memo_key)
        common = self._global.get(src, {})
        if own is None:
            row = common
        else:
            n = self._client_n[memo_key]
            lam = n / (n + self.client_prior)
            row = {dst: (1.0 - lam) * p for dst, p in common.items()}
            for dst, p in own.items():
                row[dst] = row.get(dst, 0.0) + lam * p
        self._row_memo[memo_key] = row
        return row

    def _next(self, client: str, keys: tuple[str, ...]) -> dict[str, float]:
        memo_key = (client, keys)
        cached = self._next_memo.get(memo_key)
        if cached is not None:
            return cached
        sources = _unique(keys)
        total: dict[str, float] = {}
        frontier: dict[str, float] = {src: 1.0 / len(sources) for src in sources}
        weight = 1.0
        for _ in range(self.steps):
            step: dict[str, float] = {}
            for src, share in frontier.items():
                for dst, p in self._row(client, src).items():
                    step[dst] = step.get(dst, 0.0) + share * p
            if not step:
                break
            for dst, p in step.items():
                total[dst] = total.get(dst, 0.0) + weight * p
            best = heapq.nsmallest(self.beam, step.items(), key=lambda item: (-item[1], item[0]))
            norm = sum(p for _, p in best)
            frontier = {dst: p / norm for dst, p in best}
            weight *= self.decay
        if len(self._next_memo) > 200_000:
            self._next_memo.clear()
        self._next_memo[memo_key] = total
        return total

    def scores(self, now: float, recent: Sequence[Access]) -> dict[str, float]:
        last: dict[str, Access] = {}
        for access in recent:
            if access.client and access.t <= now:
                last[access.client] = access
        out: dict[str, float] = {}
        for client, access in last.items():
            age = now - access.t
            if age > self.max_gap:
                continue
            w = math.exp(-2.0 * age / self.max_gap)
            for key, p in self._next(client, access.keys).items():
                out[key] = out.get(key, 0.0) + w * p
        return out


class TimeOfDayPredictor:
    """Popularity per 15-minute bucket of the day, looked up for the middle of (now, now + horizon].

    A bucket's shares are shrunk towards the whole-log shares by ``bucket_prior`` accesses, so
    a thinly sampled or unseen bucket falls back to overall popularity instead of to nothing.
    """

    name = "time_of_day"

    def __init__(
        self,
        *,
        horizon: float = 60.0,
        bucket_seconds: float = BUCKET_SECONDS,
        bucket_prior: float = 50.0,
    ) -> None:
        self.horizon = horizon
        self.bucket_seconds = bucket_seconds
        self.bucket_prior = bucket_prior
        self._tables: dict[int, dict[str, float]] = {}
        self._overall: dict[str, float] = {}

    def _bucket(self, t: float) -> int:
        return math.floor(t / self.bucket_seconds)

    def fit(self, log: Sequence[Access]) -> None:
        per_bucket: dict[int, Counter[str]] = {}
        accesses: Counter[int] = Counter()
        overall: Counter[str] = Counter()
        for access in log:
            bucket = self._bucket(access.t)
            counter = per_bucket.setdefault(bucket, Counter())
            accesses[bucket] += 1
            for key in _unique(access.keys):
                counter[key] += 1
                overall[key] += 1
        grand = sum(overall.values())
        self._overall = {key: c / grand for key, c in overall.items()} if grand else {}
        self._tables = {}
        for bucket, counter in per_bucket.items():
            n = accesses[bucket]
            lam = n / (n + self.bucket_prior)
            size = sum(counter.values())
            table = {key: (1.0 - lam) * share for key, share in self._overall.items()}
            for key, c in counter.items():
                table[key] = table.get(key, 0.0) + lam * c / size
            self._tables[bucket] = table

    def scores(self, now: float, recent: Sequence[Access]) -> dict[str, float]:
        table = self._tables.get(self._bucket(now + self.horizon / 2.0), self._overall)
        return dict(table)


class CoAccessPredictor:
    """Keys asked for together: in the same call, or by the same client within ``window`` seconds.

    ``P[a, b]`` is the share of calls containing ``a`` that had ``b`` alongside (same batch or
    same client within the window). A key's score is the recency-weighted sum of ``P[a, key]``
    over the keys ``a`` asked for recently. Only the ``max_keys`` most frequent keys are
    modelled, which bounds the matrix at ``max_keys`` squared.
    """

    name = "co_access"

    def __init__(self, *, window: float = 60.0, tau: float = 60.0, max_keys: int = 2000) -> None:
        self.window = window
        self.tau = tau
        self.max_keys = max_keys
        self._keys: list[str] = []
        self._index: dict[str, int] = {}
        self._p = np.zeros((0, 0), dtype=np.float32)

    def fit(self, log: Sequence[Access]) -> None:
        frequency: Counter[str] = Counter()
        for access in log:
            frequency.update(_unique(access.keys))
        ranked = sorted(frequency.items(), key=lambda item: (-item[1], item[0]))
        self._keys = [key for key, _ in ranked[: self.max_keys]]
        self._index = {key: i for i, key in enumerate(self._keys)}
        n = len(self._keys)
        together = np.zeros((n, n), dtype=np.float32)
        calls = np.zeros(n, dtype=np.float64)
        index = self._index

        def indices(keys: Sequence[str]) -> np.ndarray:
            return np.fromiter((index[k] for k in keys if k in index), dtype=np.intp, count=-1)

        by_client: dict[str, list[Access]] = {}
        for access in log:
            if access.client:
                by_client.setdefault(access.client, []).append(access)
            else:
                own = indices(_unique(access.keys))
                if own.size:
                    together[np.ix_(own, own)] += 1.0
                    calls[own] += 1.0

        for accesses in by_client.values():
            in_window: Counter[str] = Counter()
            lo = hi = 0
            for access in accesses:
                while hi < len(accesses) and accesses[hi].t - access.t < self.window:
                    in_window.update(_unique(accesses[hi].keys))
                    hi += 1
                while access.t - accesses[lo].t >= self.window:
                    in_window.subtract(_unique(accesses[lo].keys))
                    for key in _unique(accesses[lo].keys):
                        if in_window[key] <= 0:
                            del in_window[key]
                    lo += 1
                own = indices(_unique(access.keys))
                if not own.size:
                    continue
                partners = indices(list(in_window))
                together[np.ix_(own, partners)] += 1.0
                calls[own] += 1.0

        np.fill_diagonal(together, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(calls > 0, 1.0 / np.maximum(calls, 1.0), 0.0)
        self._p = (together * scale[:, None].astype(np.float32)).astype(np.float32)

    def scores(self, now: float, recent: Sequence[Access]) -> dict[str, float]:
        if not self._keys:
            return {}
        weights: dict[int, float] = {}
        for access in recent:
            if access.t > now:
                continue
            w = math.exp(-(now - access.t) / self.tau)
            for key in access.keys:
                i = self._index.get(key)
                if i is not None:
                    weights[i] = weights.get(i, 0.0) + w
        if not weights:
            return {}
        rows = np.fromiter(weights.keys(), dtype=np.intp, count=len(weights))
        vector = np.fromiter(weights.values(), dtype=np.float64, count=len(weights))
        totals = vector @ self._p[rows]
        nonzero = np.flatnonzero(totals > 0.0)
        keys = self._keys
        return {keys[i]: float(totals[i]) for i in nonzero.tolist()}


class SectorPredictor:
    """Recently hot sectors, spread over their popular members.

    A sector's heat is its recency-weighted share of recent keys times its lift over its share
    in the training log (lift below 1 counts as 1); each member gets heat times its share of
    the sector's traffic in the log (with ``prior`` pseudo-counts so unseen members still rank).
    """

    name = "sector"

    def __init__(
        self, sector_of: Mapping[str, str], *, tau: float = 120.0, prior: float = 0.5
    ) -> None:
        self.sector_of = dict(sector_of)
        self.tau = tau
        self.prior = prior
        self._members: dict[str, list[tuple[str, float]]] = {}
        self._baseline: dict[str, float] = {}
        self.fit(())

    def fit(self, log: Sequence[Access]) -> None:
        counts: Counter[str] = Counter()
        for access in log:
            for key in _unique(access.keys):
                if key in self.sector_of:
                    counts[key] += 1
        members: dict[str, list[str]] = {}
        for key in sorted(self.sector_of):
            members.setdefault(self.sector_of[key], []).append(key)
        sector_total = {s: sum(counts[k] for k in keys) for s, keys in members.items()}
        grand = sum(sector_total.values())
        self._baseline = {
            s: (sector_total[s] + self.prior) / (grand + self.prior * len(members)) for s in members
        }
        self._members = {}
        for sector, keys in members.items():
            denominator = sector_total[sector] + self.prior * len(keys)
            shares = [(key, (counts[key] + self.prior) / denominator) for key in keys]
            shares.sort(key=lambda item: (-item[1], item[0]))
            self._members[sector] = shares

    def scores(self, now: float, recent: Sequence[Access]) -> dict[str, float]:
        heat: dict[str, float] = {}
        for access in recent:
            if access.t > now:
                continue
            w = math.exp(-(now - access.t) / self.tau)
            for key in access.keys:
                sector = self.sector_of.get(key)
                if sector is not None:
                    heat[sector] = heat.get(sector, 0.0) + w
        total = sum(heat.values())
        out: dict[str, float] = {}
        if total <= 0.0:
            return out
        for sector, w in heat.items():
            lift = (w / total) / self._baseline[sector]
            sector_heat = w * max(1.0, lift)
            for key, share in self._members[sector]:
                out[key] = out.get(key, 0.0) + sector_heat * share
        return out


def precision_recall_at_k(
    predictor: Predictor,
    log: Sequence[Access],
    *,
    k: int,
    horizon: float = 60.0,
    step: float = 60.0,
    lookback: float = 300.0,
    start: float | None = None,
    exclude_within: float = 0.0,
) -> tuple[float, float]:
    """Walk the log every ``step`` seconds from ``start`` (default: the first access).

    At each ``now``, predict ``k`` keys from the accesses in (now - lookback, now] and compare
    them with the distinct keys requested in (now, now + horizon]. Precision is hits over
    predictions made, recall hits over distinct keys requested, both summed over the walk.
    With ``exclude_within`` > 0, keys requested in (now - exclude_within, now] are neither
    predicted nor counted as requested: the measure of a prefetcher that skips cached keys.
    """
    accesses = list(log)
    if not accesses or k <= 0:
        return 0.0, 0.0
    times = [access.t for access in accesses]
    now = times[0] if start is None else start
    end = times[-1]
    hits = predicted = requested = 0
    while now < end:
        lo = bisect_right(times, now - lookback)
        mid = bisect_right(times, now)
        hi = bisect_right(times, now + horizon)
        recent = accesses[lo:mid]
        skip: set[str] = set()
        if exclude_within > 0.0:
            first = bisect_right(times, now - exclude_within)
            skip = {key for access in accesses[first:mid] for key in access.keys}
        guesses = top_k(predictor.scores(now, recent), k, skip)
        actual = {key for access in accesses[mid:hi] for key in access.keys} - skip
        hits += sum(1 for key in guesses if key in actual)
        predicted += len(guesses)
        requested += len(actual)
        now += step
    precision = hits / predicted if predicted else 0.0
    recall = hits / requested if requested else 0.0
    return precision, recall


class EnsemblePredictor:
    """Several predictors, each normalised to a maximum of 1, weighted by measured precision."""

    name = "ensemble"

    def __init__(
        self, predictors: Sequence[Predictor], *, horizon: float = 60.0, lookback: float = 300.0
    ) -> None:
        names = [p.name for p in predictors]
        if len(set(names)) != len(names):
            raise ValueError(f"predictor names must be unique, got {names}")
        self.predictors = list(predictors)
        self.horizon = horizon
        self.lookback = lookback
        equal = 1.0 / len(names) if names else 0.0
        self.weights: dict[str, float] = dict.fromkeys(names, equal)
        self.validation_precision: dict[str, float] = {}

    def fit(
        self, log: Sequence[Access], *, validation_fraction: float = 0.2, k: int = 100
    ) -> dict[str, float]:
        """Fit every predictor on the first part of the log, measure each one's precision@k on
        the validation part, set ensemble weights proportional to that precision, then refit on
        the whole log. Returns the weights by predictor name."""
        accesses = list(log)
        names = [p.name for p in self.predictors]
        precision = dict.fromkeys(names, 0.0)
        cut = int(len(accesses) * (1.0 - validation_fraction))
        if 0.0 < validation_fraction < 1.0 and 0 < cut < len(accesses):
            split = accesses[cut].t
            train = [a for a in accesses if a.t < split]
            for predictor in self.predictors:
                predictor.fit(train)
                # The walk starts at the split; earlier accesses serve only as recent context.
                precision[predictor.name], _ = precision_recall_at_k(
                    predictor,
                    accesses,
                    k=k,
                    horizon=self.horizon,
                    step=60.0,
                    lookback=self.lookback,
                    start=split,
                )
        total = sum(precision.values())
        if total > 0.0:
            self.weights = {name: precision[name] / total for name in names}
        else:
            self.weights = dict.fromkeys(names, 1.0 / len(names) if names else 0.0)
        self.validation_precision = precision
        for predictor in self.predictors:
            predictor.fit(accesses)
        return dict(self.weights)

    def scores(self, now: float, recent: Sequence[Access]) -> dict[str, float]:
        combined: dict[str, float] = {}
        for predictor in self.predictors:
            weight = self.weights.get(predictor.name, 0.0)
            if weight <= 0.0:
                continue
            scores = predictor.scores(now, recent)
            peak = max(scores.values(), default=0.0)
            if peak <= 0.0:
                continue
            factor = weight / peak
            for key, score in scores.items():
                combined[key] = combined.get(key, 0.0) + factor * score
        return combined

    def predict(
        self,
        now: float,
        recent: Sequence[Access],
        *,
        k: int,
        exclude: Collection[str] = (),
    ) -> list[str]:
        """Top-k keys by weighted, per-predictor-normalised score, excluding ``exclude``."""
        return top_k(self.scores(now, recent), k, exclude)


class AccessSampler:
    """A bounded, sampled access log kept in memory.

    ``record`` keeps an access with probability ``rate`` (decided by a generator seeded with
    ``seed``, so the same stream and seed keep the same accesses); past ``max_entries`` the
    oldest kept access is dropped. ``entries`` returns the kept accesses in time order.
    """

    def __init__(self, rate: float, *, seed: int = 0, max_entries: int = 100_000) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be within [0, 1], got {rate}")
        if max_entries < 1:
            raise ValueError(f"max_entries must be positive, got {max_entries}")
        self.rate = rate
        self.max_entries = max_entries
        self.seen = 0
        self._rng = random.Random(seed)  # noqa: S311 - sampling, not security
        self._kept: deque[Access] = deque(maxlen=max_entries)

    def record(self, access: Access) -> bool:
        """Offer one access; returns whether it was kept."""
        self.seen += 1
        if self._rng.random() >= self.rate:
            return False
        self._kept.append(access)
        return True

    def entries(self) -> list[Access]:
        return sorted(self._kept, key=attrgetter("t"))

    def __len__(self) -> int:
        return len(self._kept)
