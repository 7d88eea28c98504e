"""OWASP API Security Top 10 (2023): at least one test per risk, named API1 to API10.

docs/api-security.md maps each risk to these tests and to the controls they prove. The
signing, static-IP, allowlist and rate-limit suites (ops/tests/) go deeper on API2, API4
and API8.
"""

import json
import re

import pytest
from django.contrib.auth.models import Group
from django.urls import URLPattern, URLResolver, get_resolver

from compliance.models import Client
from orders.models import Order, TradingAccount

pytestmark = pytest.mark.django_db
BUY = {
    "account": "TS0001", "tradingsymbol": "INFY", "transaction_type": "BUY",
    "order_type": "LIMIT", "price": "1400.00", "product": "CNC", "quantity": 1,
}  # fmt: skip
#: The only API addresses anyone may read without credentials: error-type descriptions and
#: the API's own description and documentation pages.
PUBLIC = {
    "/api/problems/",
    "/api/problems/<slug:slug>",
    "/api/schema/",
    "/api/docs/",
    "/api/redoc/",
}


@pytest.fixture
def asha(api_client, account, django_capture_on_commit_callbacks):
    """A client trading TS0001, with one resting order."""
    user = account.users.get()
    user.groups.add(Group.objects.get(name="Client"))
    api_client.force_authenticate(user)
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post("/api/v1/orders", BUY, format="json")
    return api_client


@pytest.fixture
def bala(account, user_in_role):
    """Another client, with an account of his own."""
    from rest_framework.test import APIClient

    user = user_in_role("Client", "bala")
    other = TradingAccount.objects.create(
        code="TS0002", client=Client.objects.create(name="Bala", pan="ABCPB1234K")
    )
    other.users.add(user)
    client = APIClient()
    client.force_authenticate(user)
    return client


def problem_type(response) -> str:
    return response.json()["type"].rsplit("/", 1)[-1]


# --- API1:2023 Broken Object Level Authorization ---------------------------------------------


def test_api1_a_client_cannot_read_or_cancel_anothers_order_by_id(asha, bala):
    order = Order.objects.get()
    assert bala.get(f"/api/v1/orders/{order.pk}").status_code == 404
    assert bala.delete(f"/api/v1/orders/{order.pk}").status_code == 404
    assert bala.get(f"/api/v1/orders/{order.pk}/history").status_code == 404
    assert bala.get("/api/v1/accounts/TS0001").status_code == 404
    assert bala.get("/api/v1/orders").json()["results"] == []
    assert Order.objects.get().status == "OPEN"


def test_api1_a_client_cannot_trade_on_anothers_account(bala):
    answer = bala.post("/api/v1/orders", BUY, format="json")
    assert answer.status_code == 404
    assert not Order.objects.exists()


# --- API2:2023 Broken Authentication -----------------------------------------------------------


def api_routes() -> list[str]:
    """Every URL pattern under /api/, as written in the URLconf."""
    found: list[str] = []

    def walk(patterns, prefix: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                found.append(prefix + str(entry.pattern))

    walk(get_resolver().url_patterns, "/")
    return [route for route in found if route.startswith("/api/")]


def test_api2_no_endpoint_is_open_by_accident(api_client):
    routes = api_routes()
    assert len(routes) > 30
    for route in routes:
        url = re.sub(r"<int:\w+>", "1", route.replace("<str:key>", "NSE:INFY"))
        url = re.sub(r"<(str|slug):\w+>", "replay", url)
        status = api_client.get(url).status_code
        if route in PUBLIC:
            assert status == 200, route
        else:
            assert status == 401, f"{route} answered {status} without credentials"


def test_api2_production_accepts_only_signatures_and_sessions(tmp_path):
    from conftest import run_manage
    from tradingsite.tests.test_settings import PRODUCTION

    show = "from django.conf import settings as s; print(s.REST_FRAMEWORK['DEFAULT_AUTHENTICATION_CLASSES'])"
    done = run_manage(
        "shell",
        "--no-imports",
        "-c",
        show,
        env={**PRODUCTION, "TRADINGSITE_DATA_DIR": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == str(
        [
            "ops.signing.SignedRequestAuthentication",
            "rest_framework.authentication.SessionAuthentication",
        ]
    )


def test_api2_a_forged_signature_is_refused(api_client, account):
    headers = {
        "Signature-Input": 'sig1=("@method" "@authority" "@path" "@query");created=1;keyid="x";nonce="n"',
        "Signature": "sig1=:AAAA:",
    }
    answer = api_client.get("/api/v1/me", headers=headers)
    assert answer.status_code == 401
    assert problem_type(answer) in {"signature-expired", "api-key-invalid", "signature-invalid"}


# --- API3:2023 Broken Object Property Level Authorization -------------------------------------


@pytest.mark.parametrize("field", ["status", "algo_id", "filled_quantity", "placed_by"])
def test_api3_a_client_cannot_set_protected_fields(asha, field):
    answer = asha.post("/api/v1/orders", {**BUY, field: "COMPLETE"}, format="json")
    assert answer.status_code == 400
    assert answer.json()["errors"] == {field: ["is not a field you can set"]}
    assert Order.objects.count() == 1


def test_api3_no_response_carries_a_secret(asha, account):
    from ops.apikeys import api_key_create

    _, secret = api_key_create(actor=None, user=account.users.get(), account=account, label="k")
    for url in ["/api/v1/me", "/api/v1/accounts", "/api/v1/accounts/TS0001", "/api/v1/orders"]:
        assert secret not in asha.get(url).content.decode()


# --- API4:2023 Unrestricted Resource Consumption --------------------------------------------


def test_api4_page_size_is_capped(asha):
    answer = asha.get("/api/v1/instruments?page_size=100000")
    assert answer.status_code == 200
    assert answer.json().get("page_size", 500) <= 500


def test_api4_body_size_is_capped(asha, settings):
    big = json.dumps({**BUY, "tag": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})
    answer = asha.post("/api/v1/orders", big, content_type="application/json")
    assert answer.status_code in {400, 413}
    assert answer["Content-Type"] == "application/problem+json"
    assert Order.objects.count() == 1


def test_api4_requests_are_rate_limited(asha, settings):
    settings.API_RATE_PER_USER = 2
    statuses = [asha.get("/api/v1/me").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


# --- API5:2023 Broken Function Level Authorization ------------------------------------------


def test_api5_a_trader_cannot_change_limits_or_trip_switches(api_client, user_in_role):
    api_client.force_authenticate(user_in_role("Trader"))
    change = {"scope": "firm", "kind": "max_order_value", "value": "1", "reason": "x"}
    assert api_client.post("/api/v1/risk/limit-changes", change, format="json").status_code == 403
    trip = {"level": "global", "reason": "x"}
    assert api_client.post("/api/v1/risk/kill-switches", trip, format="json").status_code == 403


def test_api5_an_auditor_reads_but_cannot_trade(api_client, user_in_role, account):
    api_client.force_authenticate(user_in_role("Auditor"))
    assert api_client.get("/api/v1/orders").status_code == 200
    assert api_client.post("/api/v1/orders", BUY, format="json").status_code == 403


# --- API6:2023 Unrestricted Access to Sensitive Business Flows --------------------------------


def test_api6_order_flow_is_throttled(asha, settings):
    assert settings.API_ORDER_RATE == 10  # SEBI's threshold for an unregistered algo
    settings.API_ORDER_RATE = 2  # smaller, so the test outpaces the refill on any machine
    answers = [asha.post("/api/v1/orders", BUY, format="json") for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 429]
    assert "Too many orders: at most 2 a second" in answers[2].json()["detail"]
    assert Order.objects.count() == 3  # the fixture's and two


# --- API7:2023 Server Side Request Forgery --------------------------------------------------


def test_api7_no_endpoint_takes_a_url_to_fetch(api_client):
    """No request body anywhere has a field that is an address for the server to call."""
    schema = api_client.get("/api/schema/?format=json").json()
    inputs = {
        media["schema"]["$ref"].rsplit("/", 1)[-1]
        for operations in schema["paths"].values()
        for operation in operations.values()
        if isinstance(operation, dict)
        for media in operation.get("requestBody", {}).get("content", {}).values()
        if "$ref" in media.get("schema", {})
    }
    assert inputs, "no request bodies found: the check would prove nothing"
    for name in inputs:
        for field, spec in schema["components"]["schemas"][name].get("properties", {}).items():
            if field == "file":  # an upload is data, not an address to fetch
                continue
            assert spec.get("format") != "uri", f"{name}.{field}"
            assert not field.endswith(("url", "uri", "callback", "webhook")), f"{name}.{field}"


# --- API8:2023 Security Misconfiguration ----------------------------------------------------


def test_api8_errors_do_not_leak_internals_and_cors_is_closed(asha, settings):
    assert settings.DEBUG is False
    answer = asha.get("/api/v1/orders/999999", headers={"Origin": "https://evil.example"})
    assert answer.status_code == 404
    assert "Traceback" not in answer.content.decode()
    assert "Access-Control-Allow-Origin" not in answer
    assert answer["X-Content-Type-Options"] == "nosniff"


# --- API9:2023 Improper Inventory Management ------------------------------------------------


def test_api9_every_route_is_documented_and_versioned(api_client):
    documented = set(api_client.get("/api/schema/?format=json").json()["paths"])
    for route in api_routes():
        if route in PUBLIC or route == "/api/v1/":
            continue
        assert route.startswith("/api/v1/"), route
        path = re.sub(r"<\w+:(\w+)>", r"{\1}", route)
        assert any(_same(path, documented_path) for documented_path in documented), route


def _same(route: str, documented: str) -> bool:
    parts, other = route.split("/"), documented.split("/")
    return len(parts) == len(other) and all(
        a == b or (a.startswith("{") and b.startswith("{"))
        for a, b in zip(parts, other, strict=True)
    )


# --- API10:2023 Unsafe Consumption of APIs --------------------------------------------------


def test_api10_upstream_data_is_validated_before_use():
    """Bars from a provider's file are checked whole, row by row, before anything is written:
    a price that is not a number or a high below the low is refused with its line."""
    from marketdata.importers import parse_bars

    parsed = parse_bars(
        "symbol,date,open,high,low,close,volume\n"
        "INFY,2024-07-08,1650.00,1668.90,1641.15,abc,5421876\n"
        "INFY,2024-07-09,1662.00,1600.00,1655.00,1671.80,4987123\n"
    )
    assert not parsed.ok
    assert {error.line for error in parsed.errors} == {2, 3}
