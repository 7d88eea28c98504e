"""Self-service API keys over the API: a signed-in trader issues, lists, re-binds, rotates and
revokes their own keys; secrets appear once; a key cannot mint keys; others' keys are 404."""

import pytest
from django.contrib.auth.models import Group

from ops.apikeys import api_key_create

pytestmark = pytest.mark.django_db

NEW = {"account": "TS0001", "label": "laptop", "scope": "trade", "primary_ip": "10.1.1.1"}


def test_issue_list_rebind_rotate_revoke(trader):
    issued = trader.post("/api/v1/api-keys", NEW, format="json")
    assert issued.status_code == 201, issued.content
    assert issued["Cache-Control"] == "no-store"
    body = issued.json()
    assert (body["account"], body["scope"], body["static_ips"]) == ("TS0001", "trade", ["10.1.1.1"])
    assert len(body["secret"]) >= 40
    listed = trader.get("/api/v1/api-keys").json()
    assert [k["key_id"] for k in listed] == [body["key_id"]]
    assert "secret" not in listed[0]
    moved = trader.put(
        f"/api/v1/api-keys/{body['key_id']}/ips", {"primary_ip": "10.2.2.2"}, format="json"
    )
    assert moved.status_code == 422
    assert "at most once in 7 days" in moved.json()["detail"]
    rotated = trader.post(f"/api/v1/api-keys/{body['key_id']}/rotate").json()
    assert rotated["key_id"] != body["key_id"]
    assert rotated["secret"] != body["secret"]
    revoked = trader.post(f"/api/v1/api-keys/{rotated['key_id']}/revoke").json()
    assert revoked["revoked_at"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"primary_ip": "10.1.1"}, "primary_ip"),
        ({"scope": "admin"}, "scope"),
        ({"algo_id": "MINE"}, "algo_id"),  # exchange-issued: only an administrator sets it
        ({"days": 0}, "days"),
    ],
)
def test_bad_requests_name_the_field(trader, change, field):
    answer = trader.post("/api/v1/api-keys", {**NEW, **change}, format="json")
    assert answer.status_code == 400
    assert field in answer.json()["errors"]


def test_another_accounts_or_users_keys_are_out_of_reach(trader, account, user_in_role, api_client):
    other = user_in_role("Trader", "other")
    account.users.add(other)
    theirs, _ = api_key_create(actor=None, user=other, account=account, label="theirs")
    assert trader.post(f"/api/v1/api-keys/{theirs.key_id}/revoke").status_code == 404
    assert (
        trader.post("/api/v1/api-keys", {**NEW, "account": "TS0999"}, format="json").status_code
        == 404
    )


def test_a_key_cannot_mint_keys(account, api_client):
    key, _ = api_key_create(actor=None, user=account.users.get(), account=account, label="k")
    account.users.get().groups.add(Group.objects.get(name="Trader"))
    api_client.force_authenticate(account.users.get(), token=key)
    answer = api_client.post("/api/v1/api-keys", NEW, format="json")
    assert answer.status_code == 403
    assert "signed-in session" in answer.json()["detail"]


def test_roles_without_the_permission_are_refused(api_client, user_in_role):
    api_client.force_authenticate(user_in_role("Auditor"))
    assert api_client.get("/api/v1/api-keys").status_code == 403
