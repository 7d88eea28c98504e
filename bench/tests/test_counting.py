"""The bench's counting middleware counts a request's SQL statements when asked, and only then."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def bench_urls(settings):
    settings.ROOT_URLCONF = "bench.urls"
    settings.MIDDLEWARE = ["bench.counting.CountingMiddleware", *settings.MIDDLEWARE]


def test_counts_the_two_rows_of_the_bare_baseline(bench_urls, settings):
    response = Client().post(
        "/api/bench/baseline", {"key": "k"}, content_type="application/json",
        headers={"X-Bench-Count": "trace"},
    )  # fmt: skip
    assert response.status_code == 201
    inserts = [t for t in response["X-Bench-Trace"].split(" ; ") if t.startswith("sql INSERT")]
    assert len(inserts) == 2
    assert int(response["X-Bench-SQL"]) >= 2
    if not settings.REDIS_URL:
        assert response["X-Bench-Redis"] == "0"  # the embedded profile has no Redis


def test_uncounted_requests_carry_no_counts(bench_urls):
    response = Client().post("/api/bench/baseline", {"key": "k"}, content_type="application/json")
    assert response.status_code == 201
    assert "X-Bench-SQL" not in response
