"""What the API-key endpoints answer when they cannot do what was asked (issue 10)."""

import pytest

from conftest import problem

pytestmark = pytest.mark.django_db
NEW = {"account": "TS0001", "label": "laptop", "scope": "trade", "primary_ip": "10.1.1.1"}


def test_unknown_keys_and_accounts_are_named(trader):
    for answer in (
        trader.post("/api/v1/api-keys/tsk_nope/revoke"),
        trader.post("/api/v1/api-keys/tsk_nope/rotate"),
        trader.put("/api/v1/api-keys/tsk_nope/ips", {"primary_ip": "10.1.1.1"}, format="json"),
    ):
        assert problem(answer, 404, "not-found")["detail"] == "No API key tsk_nope of yours."
    answer = trader.post("/api/v1/api-keys", {**NEW, "account": "TS0009"}, format="json")
    assert problem(answer, 404, "not-found")["detail"] == "No account TS0009 that you may see."


def test_revoking_or_rotating_a_revoked_key_is_422(trader):
    key = trader.post("/api/v1/api-keys", NEW, format="json").json()["key_id"]
    assert trader.post(f"/api/v1/api-keys/{key}/revoke").status_code == 200
    again = problem(trader.post(f"/api/v1/api-keys/{key}/revoke"), 422, "unprocessable")
    assert again["detail"] == f"{key} is already revoked"
    rotated = problem(trader.post(f"/api/v1/api-keys/{key}/rotate"), 422, "unprocessable")
    assert "no longer active" in rotated["detail"]


def test_a_key_living_too_long_is_422(trader, settings):
    answer = trader.post(
        "/api/v1/api-keys", {**NEW, "days": settings.API_KEY_MAX_DAYS + 1}, format="json"
    )
    assert "days" in problem(answer, 422, "unprocessable")["detail"]
