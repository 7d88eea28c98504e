"""Every API error is RFC 9457 problem+json with the same members."""

import json

import pytest

from tradingsite.errors import PROBLEM_TYPES, field_errors

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tradingsite.tests.problem_views")]

MEMBERS = {"type", "title", "status", "detail", "instance", "request_id", "errors"}


def problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body.keys() >= MEMBERS
    assert body["status"] == status
    assert body["type"] == f"/api/problems/{slug}"
    assert body["title"] == PROBLEM_TYPES[slug].title
    assert body["request_id"] == response["X-Request-ID"]
    return body


def test_validation_error_names_each_field(client):
    response = client.post(
        "/api/test/orders",
        {"quantity": 0, "side": "HOLD", "legs": [{"price": "1.00"}, {"price": "abc"}]},
        content_type="application/json",
    )
    body = problem(response, 400, "validation-error")
    assert set(body["errors"]) == {"quantity", "side", "legs.1.price"}
    assert "greater than or equal to 1" in body["errors"]["quantity"][0]
    assert '"HOLD" is not a valid choice.' in body["errors"]["side"]
    assert body["instance"] == "/api/test/orders"
    assert body["detail"].startswith("3 fields are invalid")


def test_wrong_type_and_huge_number_are_field_errors(client):
    response = client.post(
        "/api/test/orders",
        {"quantity": "ten", "side": "BUY", "legs": [{"price": "9" * 40}]},
        content_type="application/json",
    )
    body = problem(response, 400, "validation-error")
    assert body["errors"]["quantity"] == ["A valid integer is required."]
    assert "legs.0.price" in body["errors"]


def test_malformed_json(client):
    response = client.post("/api/test/orders", "{not json", content_type="application/json")
    body = problem(response, 400, "malformed-request")
    assert "JSON parse error" in body["detail"]
    assert body["errors"] == {}


def test_unsupported_media_type(client):
    response = client.post("/api/test/orders", "quantity=1", content_type="text/plain")
    problem(response, 415, "unsupported-media-type")


def test_unknown_api_url_is_problem_404(client):
    body = problem(client.get("/api/v1/no-such-thing/42"), 404, "not-found")
    assert "/api/v1/no-such-thing/42" in body["detail"]


def test_unknown_non_api_url_stays_html(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_method_not_allowed_keeps_allow_header(client):
    response = client.delete("/api/test/orders")
    problem(response, 405, "method-not-allowed")
    assert "POST" in response["Allow"]


def test_conflict(client):
    body = problem(client.post("/api/test/duplicate"), 409, "conflict")
    assert "still being placed" in body["detail"]


def test_unprocessable_carries_errors_and_extension_members(client):
    body = problem(client.post("/api/test/mismatch"), 422, "unprocessable")
    assert body["errors"] == {"quantity": ["was 10 in the original request"]}
    assert body["original_order_id"] == 42


def test_throttled_has_retry_after(client):
    response = client.get("/api/test/throttled")
    problem(response, 429, "rate-limited")
    assert response["Retry-After"] == "7"


def test_unhandled_exception_is_problem_500_without_internals(client):
    client.raise_request_exception = False
    body = problem(client.get("/api/test/crash"), 500, "server-error")
    assert "boom" not in json.dumps(body)


def test_not_authenticated_is_401_with_challenge(client):
    response = client.get("/api/v1/me")
    problem(response, 401, "not-authenticated")
    assert response["WWW-Authenticate"] == 'Signature realm="api"'  # sign requests (RFC 9421)


def test_wrong_password_is_401_authentication_failed(client):
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION="Basic bm9ib2R5Om5vcGU=")
    problem(response, 401, "authentication-failed")


@pytest.mark.parametrize(
    ("page", "message"),
    [
        ("0", "must be a whole number from 1 to 24"),
        ("-3", "must be a whole number from 1 to 24"),
        ("25", "there is no page 25; the last is 24"),
        ("1e3", "must be a whole number from 1 to 24"),
    ],
)
def test_a_page_out_of_range_is_problem_400_on_the_page_field(client, page, message):
    body = problem(client.get(f"/api/test/numbers?page={page}"), 400, "validation-error")
    assert body["errors"] == {"page": [message]}


def test_last_and_empty_pages(client):
    assert client.get("/api/test/numbers?page=last").json()["results"][-1] == 1200
    assert client.get("/api/test/numbers?page=24").json()["next"] is None


def test_pagination_defaults_and_cap(client):
    default = client.get("/api/test/numbers").json()
    assert (default["count"], len(default["results"])) == (1200, 50)
    capped = client.get("/api/test/numbers?page_size=100000").json()
    assert len(capped["results"]) == 500


def test_problem_types_are_documented(client):
    listing = client.get("/api/problems/").json()["problem_types"]
    assert {p["slug"] for p in listing} == set(PROBLEM_TYPES)
    one = client.get("/api/problems/rate-limited").json()
    assert one["status"] == 429
    assert one["type"] == "/api/problems/rate-limited"
    problem(client.get("/api/problems/no-such-type"), 404, "not-found")


@pytest.mark.parametrize(
    ("detail", "expected"),
    [
        ({"a": ["x"]}, {"a": ["x"]}),
        (["top-level"], {"non_field_errors": ["top-level"]}),
        ({"legs": [{}, {"price": ["bad"]}]}, {"legs.1.price": ["bad"]}),
        ({"a": {"b": {"c": ["deep"]}}}, {"a.b.c": ["deep"]}),
    ],
)
def test_field_errors_flattening(detail, expected):
    assert field_errors(detail) == expected


def test_every_problem_type_is_in_the_docs():
    from django.conf import settings

    docs = (settings.BASE_DIR / "docs" / "errors.md").read_text()
    for problem in PROBLEM_TYPES.values():
        assert f"| `{problem.slug}` | {problem.status} | {problem.title} |" in docs
