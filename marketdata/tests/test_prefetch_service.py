"""Prefetching in the running system: sampled access log, budgeted prefetch, measured accuracy."""

from datetime import timedelta

import pytest
from django.utils import timezone

from marketdata import prefetch_service
from marketdata.models import AccessSample
from marketdata.prefetch_service import (
    access_flush,
    access_log,
    most_accessed,
    prefetch_accuracy,
    prefetch_run,
)
from marketdata.pricecache import quote_get_many, quotes_cached

pytestmark = pytest.mark.django_db


@pytest.fixture
def sampling(settings):
    settings.MARKETDATA_ACCESS_SAMPLE_RATE = 1.0
    prefetch_service.model.fitted_at = float("-inf")
    yield
    access_flush()


def test_lookups_are_sampled_into_the_log(instruments, sampling):
    quote_get_many(["NSE:INFY", "NSE:TCS"], client="trader")
    quote_get_many(["NSE:INFY"], client="trader")
    access_flush()
    log = access_log()
    assert [a.keys for a in log] == [("NSE:INFY", "NSE:TCS"), ("NSE:INFY",)]
    assert {a.client for a in log} == {"trader"}
    assert most_accessed(1) == ["NSE:INFY"]


def test_sampling_rate_zero_records_nothing(instruments):
    quote_get_many(["NSE:INFY"])
    access_flush()
    assert AccessSample.objects.count() == 0


def test_prefetch_needs_enough_samples(instruments, sampling):
    assert prefetch_run()["prefetched"] == 0


def test_prefetch_fetches_predictions_within_budget_and_measures_use(
    instruments, sampling, settings
):
    settings.MARKETDATA_PREFETCH_RATE = 3
    prefetch_service._budget.cache_clear()
    now = timezone.now()
    # A client that always looks at INFY, then TCS, then SBIN, then HDFCBANK.
    AccessSample.objects.bulk_create(
        AccessSample(
            at=now - timedelta(minutes=60) + timedelta(seconds=10 * i), keys=[key], client="desk"
        )
        for i, key in enumerate(["NSE:INFY", "NSE:TCS", "NSE:SBIN", "NSE:HDFCBANK"] * 20)
    )
    report = prefetch_run(k=4)
    assert report["predicted"] == 4
    assert report["prefetched"] == 3  # four candidates, a budget of three
    assert report["over_budget"] == 1
    prefetched = set(quotes_cached(["NSE:INFY", "NSE:TCS", "NSE:SBIN", "NSE:HDFCBANK"]))
    assert len(prefetched) == 3
    quote_get_many(sorted(prefetched))  # the desk asks for them: every one was a used prefetch
    access_flush()
    assert AccessSample.objects.order_by("-at").first().prefetch_hits == 3
    assert prefetch_accuracy()["sampled_hits"] == 3


def test_old_samples_are_pruned(instruments):
    AccessSample.objects.create(at=timezone.now() - timedelta(days=30), keys=["NSE:INFY"])
    AccessSample.objects.create(at=timezone.now(), keys=["NSE:INFY"])
    assert prefetch_service.access_prune() == 1
    assert AccessSample.objects.count() == 1
