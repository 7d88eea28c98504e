"""Signed requests over real HTTP with the shipped client: an order placed in a few lines,
and every forged, replayed, skewed, tampered or misplaced request refused with its problem."""

import datetime

import pytest
import requests
from django.utils import timezone

from ops.apikeys import api_key_create, api_key_revoke, api_key_rotate
from ops.models import ApiKey
from orders.models import Order
from tradingsite_client import ApiError, TradingSite

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def issue(account, user_in_role):
    owner = user_in_role("Algo Client", "algo1")
    account.users.add(owner)

    def make(*, scope="trade", primary_ip="127.0.0.1", **kwargs) -> tuple[ApiKey, str]:
        return api_key_create(
            actor=None, user=owner, account=account, label="algo box", scope=scope,
            primary_ip=primary_ip, **kwargs,
        )  # fmt: skip

    return make


def client_for(live_server, key: ApiKey, secret: str) -> TradingSite:
    return TradingSite(live_server.url, key_id=key.key_id, secret=secret)


def problem_of(call) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value


def test_an_algo_places_a_signed_order_in_a_few_lines(live_server, issue, account):
    key, secret = issue(algo_id="NSE-ALGO-42")
    api = TradingSite(live_server.url, key_id=key.key_id, secret=secret)
    assert api.me()["username"] == "algo1"
    order = api.place_order("TS0001", "INFY", "BUY", 5)
    assert order["status"] in {"ACCEPTED", "OPEN", "COMPLETE"}
    stored = Order.objects.get(pk=order["order_id"])
    assert (stored.algo_id, stored.placed_by.username) == ("NSE-ALGO-42", "algo1")
    assert stored.placed_from_ip == "127.0.0.1"


def test_a_body_is_covered_by_its_content_digest(live_server, issue):
    key, secret = issue()
    api = client_for(live_server, key, secret)
    prepared = api.session.prepare_request(
        requests.Request("POST", f"{live_server.url}/api/v1/orders", json={"account": "TS0001"})
    )
    assert "content-digest" in prepared.headers["Signature-Input"]
    prepared.body = prepared.body.replace(b"TS0001", b"TS0002")  # tampered after signing
    answer = api.session.send(prepared)
    assert answer.status_code == 401
    assert answer.json()["type"] == "/api/problems/signature-invalid"


def send_twice(api: TradingSite, url: str) -> list[requests.Response]:
    prepared = api.session.prepare_request(requests.Request("GET", url))
    return [api.session.send(prepared.copy()) for _ in range(2)]


def test_a_replayed_request_is_refused(live_server, issue):
    key, secret = issue()
    first, again = send_twice(client_for(live_server, key, secret), f"{live_server.url}/api/v1/me")
    assert first.status_code == 200
    assert again.status_code == 401
    assert again.headers["Content-Type"] == "application/problem+json"
    assert again.json()["type"] == "/api/problems/replay"


@pytest.mark.parametrize("skew", [-301, 301])
def test_a_skewed_clock_is_refused(live_server, issue, monkeypatch, skew):
    key, secret = issue()
    api = client_for(live_server, key, secret)
    monkeypatch.setattr(
        api.session.auth,
        "get_created",
        lambda request: datetime.datetime.now() + datetime.timedelta(seconds=skew),
    )
    error = problem_of(api.me)
    assert (error.status, error.type) == (401, "signature-expired")


def test_a_clock_within_the_window_is_fine(live_server, issue, monkeypatch):
    key, secret = issue()
    api = client_for(live_server, key, secret)
    monkeypatch.setattr(
        api.session.auth,
        "get_created",
        lambda request: datetime.datetime.now() - datetime.timedelta(seconds=290),
    )
    assert api.me()["username"] == "algo1"


def test_a_tampered_query_or_path_is_refused(live_server, issue):
    key, secret = issue()
    api = client_for(live_server, key, secret)
    prepared = api.session.prepare_request(
        requests.Request("GET", f"{live_server.url}/api/v1/orders?status=OPEN")
    )
    prepared.url = prepared.url.replace("status=OPEN", "status=COMPLETE")
    answer = api.session.send(prepared)
    assert (answer.status_code, answer.json()["type"]) == (401, "/api/problems/signature-invalid")


def test_the_wrong_secret_or_an_unknown_key_is_refused(live_server, issue):
    key, _ = issue()
    wrong = problem_of(client_for(live_server, key, "not-the-secret").me)
    assert (wrong.status, wrong.type) == (401, "signature-invalid")
    api = TradingSite(live_server.url, key_id="tsk_nobody", secret="x")
    assert problem_of(api.me).type == "api-key-invalid"


def test_revoked_and_rotated_keys(live_server, issue):
    key, secret = issue()
    successor, new_secret = api_key_rotate(actor=None, key=key)
    assert client_for(live_server, key, secret).me()["username"] == "algo1"  # the overlap
    assert client_for(live_server, successor, new_secret).me()["username"] == "algo1"
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now())
    assert problem_of(client_for(live_server, key, secret).me).type == "api-key-invalid"
    api_key_revoke(actor=None, key=successor)
    assert problem_of(client_for(live_server, successor, new_secret).me).type == "api-key-invalid"


def test_a_request_from_another_address_is_refused(live_server, issue):
    key, secret = issue(primary_ip="203.0.113.9", secondary_ip="2001:db8::9")
    error = problem_of(client_for(live_server, key, secret).me)
    assert (error.status, error.type) == (403, "ip-not-allowed")
    assert "this one came from 127.0.0.1" in error.detail


def test_a_spoofed_forwarded_for_is_not_believed(live_server, issue, settings):
    key, secret = issue(primary_ip="10.20.30.40")
    api = client_for(live_server, key, secret)
    api.session.headers["X-Forwarded-For"] = "10.20.30.40"
    assert problem_of(api.me).type == "ip-not-allowed"  # 127.0.0.1 is no trusted proxy
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    assert api.me()["username"] == "algo1"  # now the proxy vouches for the address
    api.session.headers["X-Forwarded-For"] = "10.20.30.40, 10.66.66.66"
    error = problem_of(api.me)  # the rightmost untrusted hop is the client
    assert "this one came from 10.66.66.66" in error.detail


def test_a_read_key_cannot_trade(live_server, issue):
    key, secret = issue(scope="read")
    api = client_for(live_server, key, secret)
    assert api.orders()["results"] == []
    error = problem_of(lambda: api.place_order("TS0001", "INFY", "BUY", 1))
    assert (error.status, error.type) == (403, "scope-insufficient")
    assert not Order.objects.exists()


def test_a_key_acts_only_on_its_own_account(live_server, issue, account):
    from compliance.models import Client as KycClient
    from orders.models import TradingAccount

    other = TradingAccount.objects.create(
        code="TS0009", client=KycClient.objects.create(name="B", pan="ABCPB1234K")
    )
    other.users.add(account.users.get(username="algo1"))
    key, secret = issue()
    api = client_for(live_server, key, secret)
    assert [a["code"] for a in api.request("GET", "/api/v1/accounts")["results"]] == ["TS0001"]
    error = problem_of(lambda: api.place_order("TS0009", "INFY", "BUY", 1))
    assert error.status == 404


def test_a_signature_must_cover_the_required_components_and_a_nonce(live_server, issue):
    from requests_http_signature import HTTPSignatureAuth, algorithms

    key, secret = issue()
    session = requests.Session()
    session.auth = HTTPSignatureAuth(
        signature_algorithm=algorithms.HMAC_SHA256, key=secret.encode(), key_id=key.key_id,
        covered_component_ids=("@method", "@authority", "@path"), use_nonce=True,
    )  # fmt: skip
    answer = session.get(f"{live_server.url}/api/v1/me")
    assert answer.json()["type"] == "/api/problems/signature-invalid"
    assert "@query" in answer.json()["detail"]
    session.auth = HTTPSignatureAuth(
        signature_algorithm=algorithms.HMAC_SHA256, key=secret.encode(), key_id=key.key_id,
        covered_component_ids=("@method", "@authority", "@path", "@query"),
    )  # fmt: skip
    answer = session.get(f"{live_server.url}/api/v1/me")
    assert answer.status_code == 401
    assert "nonce" in answer.json()["detail"]


def test_a_key_without_a_static_ip_cannot_be_used(live_server, issue):
    key, secret = issue(primary_ip=None)
    error = problem_of(client_for(live_server, key, secret).me)
    assert (error.status, error.type) == (403, "ip-not-allowed")
