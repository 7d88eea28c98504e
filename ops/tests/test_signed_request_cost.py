"""A signed request resolves its key from the process's cache, yet every change applies on the
very next request in every process; and what a signed GET /api/v1/me costs, counted.

Two web processes are modelled by two sets of the per-process state (the cached signers of
``ops.signers`` and the built allowlist of ``ops.allowlist``) over one database and one
shared cache (Redis on the production profile).
"""

import datetime

import pytest
import redis
import requests
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from requests_http_signature import HTTPSignatureAuth, algorithms

from compliance.models import Client as KycClient
from conftest import problem
from ops import allowlist, signers
from ops.apikeys import api_key_bind_ips, api_key_create, api_key_revoke
from ops.models import AllowlistEntry, ApiKey
from orders.models import TradingAccount
from tradingsite_client import COVERED, TradingSite

pytestmark = pytest.mark.django_db(transaction=True)


class Process:
    """The per-process state of one web process; ``run`` makes it the current one."""

    def __init__(self, monkeypatch) -> None:
        self.monkeypatch = monkeypatch
        self.signers: dict = {}
        self.allowlist: dict = {}

    def run(self) -> "Process":
        self.monkeypatch.setattr(signers, "_entries", self.signers)
        self.monkeypatch.setattr(allowlist, "_loaded", self.allowlist)
        return self


@pytest.fixture
def processes(monkeypatch) -> tuple[Process, Process]:
    return Process(monkeypatch), Process(monkeypatch)


@pytest.fixture
def owner(user_in_role):
    return user_in_role("Algo Client", "algo1")


@pytest.fixture
def key(owner) -> tuple[ApiKey, str]:
    account = TradingAccount.objects.create(
        code="TS0001", client=KycClient.objects.create(name="A", pan="ABCPA1234K")
    )
    account.users.add(owner)
    return api_key_create(
        actor=None, user=owner, account=account, label="algo box", primary_ip="127.0.0.1"
    )


def signed_get(client, key: tuple[ApiKey, str], path: str = "/api/v1/me"):
    """GET ``path`` signed with a fresh nonce, as the shipped client signs it."""
    api_key, secret = key
    auth = HTTPSignatureAuth(
        signature_algorithm=algorithms.HMAC_SHA256, key=secret.encode(),
        key_id=api_key.key_id, covered_component_ids=COVERED, use_nonce=True,
    )  # fmt: skip
    prepared = auth(requests.Request("GET", f"http://testserver{path}").prepare())
    return client.get(path, headers=dict(prepared.headers))


def warm(client, key, *processes: Process) -> None:
    """Each process answers three signed requests, so its cached signer is confirmed."""
    for process in processes:
        process.run()
        assert [signed_get(client, key).status_code for _ in range(3)] == [200] * 3
        assert key[0].key_id in process.signers


def test_a_revoked_key_is_refused_at_once_in_every_process(client, key, processes):
    a, b = processes
    warm(client, key, a, b)
    b.run()
    api_key_revoke(actor=None, key=key[0])
    a.run()
    problem(signed_get(client, key), 401, "api-key-invalid")
    b.run()
    problem(signed_get(client, key), 401, "api-key-invalid")


def test_an_expired_key_is_refused_at_once(client, key, processes, monkeypatch):
    a, b = processes
    warm(client, key, a, b)
    expires_at = key[0].expires_at
    real_now = timezone.now
    # The clock passes the expiry: no process needs telling.
    monkeypatch.setattr(timezone, "now", lambda: expires_at + datetime.timedelta(seconds=1))
    a.run()
    problem(signed_get(client, key), 401, "api-key-invalid")
    monkeypatch.setattr(timezone, "now", real_now)
    warm(client, key, a)
    # Or the expiry is brought forward (rotation does this) in the other process.
    b.run()
    stored = ApiKey.objects.get(pk=key[0].pk)
    stored.expires_at = timezone.now() - datetime.timedelta(seconds=1)
    stored.save(update_fields=["expires_at"])
    a.run()
    problem(signed_get(client, key), 401, "api-key-invalid")


def test_a_new_static_ip_applies_at_once(client, key, processes):
    a, b = processes
    warm(client, key, a, b)
    b.run()
    ApiKey.objects.filter(pk=key[0].pk).update(  # the last change was over 7 days ago
        ips_changed_at=timezone.now() - datetime.timedelta(days=8)
    )
    api_key_bind_ips(actor=None, key=ApiKey.objects.get(pk=key[0].pk), primary_ip="203.0.113.9")
    a.run()
    body = problem(signed_get(client, key), 403, "ip-not-allowed")
    assert "this one came from 127.0.0.1" in body["detail"]


def test_an_allowlist_change_applies_at_once(client, key, processes, settings, tmp_path):
    listfile = tmp_path / "allowlist.txt"
    listfile.write_text("admin 127.0.0.0/8\napi 10.0.0.0/8\n")  # the API is closed to 127.0.0.1
    settings.IP_ALLOWLIST_FILE = listfile
    a, b = processes
    b.run()
    problem(signed_get(client, key), 403, "ip-not-allowed")
    row = AllowlistEntry.objects.create(network="127.0.0.1/32", surface="api")
    warm(client, key, a, b)
    row.delete()  # in b
    a.run()  # whose allowlist still has the row
    body = problem(signed_get(client, key), 403, "ip-not-allowed")
    assert body["detail"] == "127.0.0.1 is not on the api allowlist."
    b.run()
    AllowlistEntry.objects.create(network="127.0.0.0/24", surface="both")
    a.run()
    assert signed_get(client, key).status_code == 200


def test_role_and_permission_changes_apply_at_once(client, key, owner, processes):
    a, b = processes
    warm(client, key, a, b)
    a.run()
    me = signed_get(client, key).json()
    assert me["roles"] == ["Algo Client"]
    assert "orders.place_order" in me["permissions"]
    b.run()
    algo = Group.objects.get(name="Algo Client")
    algo.permissions.remove(Permission.objects.get(codename="place_order"))
    a.run()
    me = signed_get(client, key).json()
    assert "orders.place_order" not in me["permissions"]
    assert "ops.access_api" in me["permissions"]
    b.run()
    algo.user_set.remove(owner)  # from the group's side
    a.run()
    me = signed_get(client, key).json()
    assert (me["roles"], me["permissions"]) == ([], [])
    b.run()
    owner.groups.add(Group.objects.get(name="Trader"))  # from the user's side
    a.run()
    assert signed_get(client, key).json()["roles"] == ["Trader"]
    b.run()
    owner.is_active = False
    owner.save(update_fields=["is_active"])
    a.run()
    problem(signed_get(client, key), 401, "api-key-invalid")


def signed_order(client, key: tuple[ApiKey, str], account: str):
    """POST /api/v1/orders for an instrument that does not exist, signed as the shipped client
    signs it: 400 once the account is resolved and the caller may act on it."""
    api_key, secret = key
    session = TradingSite("http://testserver", key_id=api_key.key_id, secret=secret).session
    payload = {
        "account": account, "tradingsymbol": "NOSUCH", "transaction_type": "BUY",
        "order_type": "MARKET", "product": "CNC", "quantity": 1,
    }  # fmt: skip
    prepared = session.prepare_request(
        requests.Request("POST", "http://testserver/api/v1/orders", json=payload)
    )
    headers = {k: v for k, v in prepared.headers.items() if k.lower() != "content-type"}
    return client.post(
        "/api/v1/orders", data=prepared.body, content_type="application/json", headers=headers
    )


def test_unlinking_the_account_applies_at_once(client, key, owner, processes):
    """The key's account and the link to it come with the key (no query to place), so an
    unlinked user is refused on the next request, from either side of the link."""
    account = TradingAccount.objects.get(code="TS0001")
    key = api_key_create(
        actor=None, user=owner, account=account, label="trading box", scope=ApiKey.Scope.TRADE,
        primary_ip="127.0.0.1", algo_id="ALGO1",
    )  # fmt: skip
    a, b = processes
    warm(client, key, a, b)
    a.run()
    problem(signed_order(client, key, "TS0001"), 400, "validation-error")
    b.run()
    account.users.remove(owner)  # from the account's side
    a.run()
    problem(signed_order(client, key, "TS0001"), 404, "not-found")  # not linked: not seen
    b.run()
    owner.trading_accounts.add(account)  # from the user's side
    a.run()
    problem(signed_order(client, key, "TS0001"), 400, "validation-error")
    b.run()
    account.users.clear()
    a.run()
    problem(signed_order(client, key, "TS0001"), 404, "not-found")  # not linked: not seen
    problem(signed_order(client, key, "TS0002"), 404, "not-found")


class RedisTrips:
    """Counts round trips to Redis: each command sent on its own, and each pipeline."""

    def __init__(self, monkeypatch) -> None:
        self.count = 0
        for cls in (redis.Redis, redis.client.Pipeline):
            name = "execute" if cls is redis.client.Pipeline else "execute_command"
            monkeypatch.setattr(cls, name, self._counted(getattr(cls, name)))

    def _counted(self, real):
        def counted(client, *args, **kwargs):
            self.count += 1
            return real(client, *args, **kwargs)

        return counted


def cost(client, key, trips: RedisTrips | None) -> tuple[list[str], int | None]:
    """The SQL statements and Redis round trips of one signed GET /api/v1/me."""
    before = trips.count if trips else None
    with CaptureQueriesContext(connection) as queries:
        assert signed_get(client, key).status_code == 200
    return [q["sql"] for q in queries], (trips.count - before if trips else None)


def test_what_a_signed_get_me_costs(client, key, processes, settings, monkeypatch):
    """Cold process: 1 SELECT (key, account, user, roles and permissions); the next request
    confirms that entry (1 SELECT: see ops.signers); then none. One Redis round trip each.
    The first use of a key in a minute, across processes, also records last_used_at."""
    trips = RedisTrips(monkeypatch) if settings.REDIS_URL else None
    a, b = processes
    b.run()
    allowlist.allowlist()  # built once per process, not per key: outside what is counted
    first, _ = cost(client, key, trips)
    assert len(first) == 2
    assert first[1].startswith('UPDATE "ops_apikey" SET "last_used_at"')
    a.run()
    allowlist.allowlist()
    cold, cold_trips = cost(client, key, trips)
    assert len(cold) == 1
    assert cold[0].startswith("SELECT")
    confirming, confirming_trips = cost(client, key, trips)
    assert len(confirming) == 1
    warm_costs = [cost(client, key, trips) for _ in range(3)]
    assert [len(sql) for sql, _ in warm_costs] == [0, 0, 0]
    if trips:
        assert [cold_trips, confirming_trips, *(n for _, n in warm_costs)] == [1] * 5
