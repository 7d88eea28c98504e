"""Predictive prefetching in the running system (the predictors are in ``marketdata.prefetch``).

- ``access_record`` samples ``MARKETDATA_ACCESS_SAMPLE_RATE`` of quote lookups. Samples
  are buffered per process and written in bulk to ``AccessSample``, so every process's
  lookups reach the learner, on both profiles.
- ``prefetch_run`` (beat, every minute in session) fits the ensemble on recent samples
  (refitting at most every ``REFIT_SECONDS``), predicts the keys to be asked in the next
  minute that the cache does not hold, and fetches them within a budget of
  ``MARKETDATA_PREFETCH_RATE`` keys a minute (a token bucket).
- Accuracy is measured, not assumed: every prefetched key is marked in the cache for
  its TTL, and a sampled lookup that finds a mark counts a used prefetch.
"""

import random
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache

from django.conf import settings
from django.db import connection
from django.utils import timezone
from prometheus_client import Counter
from pyrate_limiter import Duration, Limiter, Rate, TokenBucket
from pyrate_limiter.buckets.state_bucket import StateBucket

from marketdata.calendar import IST
from marketdata.models import AccessSample
from marketdata.prefetch import (
    Access,
    CoAccessPredictor,
    EnsemblePredictor,
    SectorPredictor,
    SequencePredictor,
    TimeOfDayPredictor,
)

FLUSH_EVERY = 50  # samples
FLUSH_AFTER_SECONDS = 5.0
TRAINING_WINDOW = timedelta(days=5)
TRAINING_SAMPLES = 50_000
REFIT_SECONDS = 15 * 60
LOOKBACK_SECONDS = 300
MARK_PREFIX = "prefetched:"

PREFETCHED = Counter(
    "marketdata_prefetched_total", "Keys fetched ahead of demand by the prefetcher"
)
PREFETCH_USED = Counter(
    "marketdata_prefetch_used_total", "Sampled lookups of keys that a prefetch had fetched"
)

_buffer: list[AccessSample] = []
_buffer_lock = threading.Lock()
_buffer_started = time.monotonic()


def _seconds_of_day(moment: datetime) -> float:
    local = timezone.localtime(moment, IST)
    return local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6


def access_record(keys: Sequence[str], *, client: str = "") -> None:
    """Sample one lookup; a sampled lookup also checks which of its keys were prefetched."""
    if random.random() >= settings.MARKETDATA_ACCESS_SAMPLE_RATE:  # noqa: S311 - sampling, not security
        return
    from marketdata.pricecache import quote_cache

    cache = quote_cache()
    marks = cache.get_many([MARK_PREFIX + key for key in keys])
    if marks:
        cache.delete_many(list(marks))
        PREFETCH_USED.inc(len(marks))
    sample = AccessSample(
        at=timezone.now(), keys=list(keys), client=client[:64], prefetch_hits=len(marks)
    )
    global _buffer_started
    with _buffer_lock:
        if not _buffer:
            _buffer_started = time.monotonic()
        _buffer.append(sample)
        due = (
            len(_buffer) >= FLUSH_EVERY or time.monotonic() - _buffer_started > FLUSH_AFTER_SECONDS
        )
    if due and not connection.in_atomic_block:  # never inside someone else's transaction
        access_flush()


def access_flush() -> int:
    with _buffer_lock:
        pending = _buffer[:]
        _buffer.clear()
    AccessSample.objects.bulk_create(pending)
    return len(pending)


def access_log(*, since: datetime | None = None, limit: int = TRAINING_SAMPLES) -> list[Access]:
    """Recent samples as the predictors' Access records, oldest first."""
    since = since or timezone.now() - TRAINING_WINDOW
    rows = list(
        AccessSample.objects.filter(at__gte=since)
        .order_by("-at")
        .values_list("at", "keys", "client")[:limit]
    )
    rows.reverse()
    return [
        Access(t=_seconds_of_day(at), keys=tuple(keys), client=client) for at, keys, client in rows
    ]


def most_accessed(n: int) -> list[str]:
    """The ``n`` keys looked up most often in the recent samples."""
    counts: dict[str, int] = {}
    for access in access_log():
        for key in access.keys:
            counts[key] = counts.get(key, 0) + 1
    return sorted(counts, key=lambda key: (-counts[key], key))[:n]


class _Model:
    """The fitted ensemble of this process, refitted when stale."""

    def __init__(self) -> None:
        self.ensemble: EnsemblePredictor | None = None
        self.weights: dict[str, float] = {}
        self.fitted_at = float("-inf")
        self.samples = 0

    def get(self) -> EnsemblePredictor | None:
        if time.monotonic() - self.fitted_at > REFIT_SECONDS:
            from marketdata.selectors import instrument_specs

            log = access_log()
            sectors = {key: spec.sector for key, spec in instrument_specs().items()}
            ensemble = EnsemblePredictor(
                [
                    SequencePredictor(),
                    TimeOfDayPredictor(),
                    CoAccessPredictor(),
                    SectorPredictor(sectors),
                ]
            )
            self.ensemble, self.weights = (
                (ensemble, ensemble.fit(log)) if len(log) >= 20 else (None, {})
            )
            self.samples = len(log)
            self.fitted_at = time.monotonic()
        return self.ensemble


model = _Model()


@lru_cache(maxsize=4)
def _budget(per_minute: int) -> Limiter:
    return Limiter(StateBucket([Rate(per_minute, Duration.MINUTE)], algorithm=TokenBucket()))


def prefetch_run(*, k: int | None = None) -> dict:
    """Predict and fetch what will be asked next; returns what it did, for the task result."""
    from marketdata.pricecache import quote_cache, quotes_cached, upstream_quotes
    from marketdata.selectors import instrument_specs

    access_flush()
    ensemble = model.get()
    if ensemble is None:
        return {"prefetched": 0, "reason": f"only {model.samples} samples so far; need 20"}
    now = timezone.now()
    recent = access_log(since=now - timedelta(seconds=LOOKBACK_SECONDS))
    budget = _budget(settings.MARKETDATA_PREFETCH_RATE)
    wanted = ensemble.predict(
        _seconds_of_day(now), recent, k=k or settings.MARKETDATA_PREFETCH_RATE
    )
    wanted = [key for key in wanted if key in instrument_specs(wanted)]
    cold = [key for key in wanted if key not in quotes_cached(wanted)]
    allowed = [key for key in cold if budget.try_acquire("prefetch", blocking=False)]
    fetched = upstream_quotes(allowed, reason="prefetch") if allowed else {}
    if fetched:
        quote_cache().set_many({MARK_PREFIX + key: 1 for key in fetched})
        PREFETCHED.inc(len(fetched))
    return {
        "predicted": len(wanted),
        "already_cached": len(wanted) - len(cold),
        "prefetched": len(fetched),
        "over_budget": len(cold) - len(allowed),
        "weights": model.weights,
    }


def prefetch_accuracy(*, since: datetime | None = None) -> dict:
    """Used prefetches seen in the samples, scaled by the sample rate, over keys prefetched."""
    import json

    from django_celery_results.models import TaskResult

    since = since or timezone.now() - timedelta(days=1)
    hits = sum(AccessSample.objects.filter(at__gte=since).values_list("prefetch_hits", flat=True))
    prefetched = sum(
        json.loads(result or "{}").get("prefetched", 0)
        for result in TaskResult.objects.filter(
            task_name="marketdata.tasks.prefetch", status="SUCCESS", date_done__gte=since
        ).values_list("result", flat=True)
    )
    rate = settings.MARKETDATA_ACCESS_SAMPLE_RATE
    estimated_used = hits / rate if rate else 0
    return {
        "prefetched": prefetched,
        "sampled_hits": hits,
        "estimated_precision": round(min(1.0, estimated_used / prefetched), 3)
        if prefetched
        else None,
    }


def access_prune(*, keep: timedelta = TRAINING_WINDOW * 2) -> int:
    deleted, _ = AccessSample.objects.filter(at__lt=timezone.now() - keep).delete()
    return deleted
