"""The versioned API root, the caller's identity, and the OpenAPI schema and docs."""

import re

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_api_root_lists_links_and_ist_time(api_client, user_in_role):
    api_client.force_authenticate(user_in_role("Trader"))
    body = api_client.get("/api/v1/").json()
    assert body["version"] == "v1"
    assert body["user"] == "trader"
    assert body["server_time"].endswith("+05:30")
    assert body["links"]["docs"] == "http://testserver/api/docs/"
    assert body["links"]["me"] == "http://testserver/api/v1/me"


def test_me_shows_roles_and_permissions(api_client, user_in_role):
    api_client.force_authenticate(user_in_role("Risk Manager", username="rina"))
    body = api_client.get("/api/v1/me").json()
    assert body["username"] == "rina"
    assert body["roles"] == ["Risk Manager"]
    assert "risk.trip_kill_switch" in body["permissions"]
    assert "orders.place_order" not in body["permissions"]


def test_basic_auth_works_for_scripts(api_client, user_in_role):
    user_in_role("Trader")
    api_client.credentials(HTTP_AUTHORIZATION="Basic dHJhZGVyOm5vdC1hLXJlYWwtcGFzc3dvcmQtMQ==")
    assert api_client.get("/api/v1/me").json()["username"] == "trader"


def test_disallowed_host_is_problem_400(client):
    response = client.get("/api/v1/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "evil.example" in response.json()["detail"]


def test_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = out.read_text()
    assert "/api/v1/me:" in schema
    assert "application/problem+json" in schema
    assert "Problem:" in schema


def test_schema_is_served(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "TradingSite API"


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_reference_only_local_assets(client, page):
    html = client.get(page).content.decode()
    external = re.findall(r"""(?:src|href)=["'](https?://[^"']+)""", html)
    assert external == []
    assert "/static/drf_spectacular_sidecar/" in html


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/", "/admin/login/"])
def test_pages_forbid_off_site_loads(client, page):
    policy = client.get(page)["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"  # no CDN, no inline script
    assert directives["img-src"] == "'self' data:"
    assert directives["frame-ancestors"] == "'none'"
