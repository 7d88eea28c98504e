"""API rate limits: per user, per key, per account, orders at SEBI's threshold unless the
algo is registered; 429 problem+json with Retry-After; shared by processes through Redis."""

import json
import os
import subprocess
import sys
import time

import pytest
from prometheus_client import REGISTRY

from conftest import BASE_DIR
from ops.models import ApiKey
from ops.ratelimits import Limit, limits_for, take

pytestmark = pytest.mark.django_db


def test_a_user_over_the_rate_gets_a_429_problem(api_client, user_in_role, settings):
    settings.API_RATE_PER_USER = 3
    api_client.force_authenticate(user_in_role("Trader"))
    before = REGISTRY.get_sample_value("api_rate_limited_total", {"limit": "user"}) or 0
    assert [api_client.get("/api/v1/me").status_code for _ in range(3)] == [200] * 3
    refused = api_client.get("/api/v1/me")
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["type"] == "/api/problems/rate-limited"
    assert "at most 3 a second" in refused.json()["detail"]
    assert int(refused["Retry-After"]) >= 1
    assert REGISTRY.get_sample_value("api_rate_limited_total", {"limit": "user"}) == before + 1


def key_request(key: ApiKey, method: str = "POST", path: str = "/api/v1/orders"):
    from rest_framework.test import APIRequestFactory

    request = getattr(APIRequestFactory(), method.lower())(path)
    request.auth, request.user = key, key.user
    return request


@pytest.fixture
def keys(account):
    from ops.apikeys import api_key_create

    owner = account.users.get()

    def make(**kwargs) -> ApiKey:
        return api_key_create(
            actor=None, user=owner, account=account, label="k", scope="trade",
            primary_ip="127.0.0.1", **kwargs,
        )[0]  # fmt: skip

    return make


def spend(limits: list[Limit], times: int) -> list[bool]:
    return [all(take(limit) == 0 for limit in limits) for _ in range(times)]


def test_orders_stop_at_ten_a_second_for_an_unregistered_algo(keys):
    limits = limits_for(key_request(keys()))
    assert [limit.kind for limit in limits] == ["key", "account", "orders"]
    orders = limits[2]
    assert orders.per_second == 10
    assert "SEBI threshold for an unregistered algo" in orders.name
    assert spend([orders], 11) == [True] * 10 + [False]


def test_a_registered_algo_may_send_more(keys, settings):
    settings.API_ORDER_RATE_REGISTERED = 25
    orders = limits_for(key_request(keys(algo_id="NSE-7", algo_registered=True)))[2]
    assert spend([orders], 26) == [True] * 25 + [False]


def test_reads_do_not_spend_order_tokens(keys):
    assert [limit.kind for limit in limits_for(key_request(keys(), "GET"))] == ["key", "account"]


def test_two_keys_of_one_account_share_its_budget(keys, settings):
    settings.API_RATE_PER_ACCOUNT = 4
    first, second = keys(), keys()
    assert spend(limits_for(key_request(first, "GET")), 3) == [True] * 3
    assert spend(limits_for(key_request(second, "GET")), 2) == [True, False]


CHILD = """
import json, os, time
from ops.ratelimits import Limit, take
time.sleep(max(0, float(os.environ["START_AT"]) - time.time()))  # all four at one moment
print(json.dumps(sum(take(Limit("key", "k", "shared-test-bucket", 5)) == 0 for _ in range(10))))
"""


@pytest.mark.integration
def test_the_buckets_hold_across_processes(redis_url):
    """Four processes spend 10 tokens each, at once, from one 5-a-second bucket in Redis."""
    import redis

    redis.Redis.from_url(redis_url).delete(
        *redis.Redis.from_url(redis_url).keys("ts:rl:*") or ["x"]
    )
    env = {"PATH": os.environ["PATH"], "REDIS_URL": redis_url, "START_AT": str(time.time() + 15)}
    children = [
        subprocess.Popen(
            [sys.executable, "manage.py", "shell", "--no-imports", "-c", CHILD],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    admitted = [
        json.loads(child.communicate(timeout=60)[0].strip().splitlines()[-1]) for child in children
    ]
    # 40 attempts at one moment: the burst of 5 (and a refill or two), not 5 per process.
    assert 5 <= sum(admitted) <= 7, admitted
