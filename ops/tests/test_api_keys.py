"""API keys: created with the secret once and stored encrypted, capped per account, rotated
with overlap, revoked, expired, and bound to static IPs that change at most weekly."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from compliance.models import AuditEvent
from ops.apikeys import (
    ApiKeyError,
    api_key_bind_ips,
    api_key_create,
    api_key_revoke,
    api_key_rotate,
    api_keys_expire,
)
from ops.models import ApiKey

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(account):
    return account.users.get()


def create(account, owner, **kwargs):
    return api_key_create(actor=None, user=owner, account=account, label="momentum box", **kwargs)


def test_the_secret_is_returned_once_and_stored_encrypted(account, owner):
    key, secret = create(account, owner, primary_ip="203.0.113.7")
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM ops_apikey WHERE id = %s", [key.pk])
        stored = cursor.fetchone()[0]
    assert secret not in stored
    assert stored.startswith("v1$")
    assert ApiKey.objects.get(pk=key.pk).secret == secret
    audit = AuditEvent.objects.get(action="ops.api_key_created")
    assert secret not in str(audit.after)
    assert audit.after["static_ips"] == ["203.0.113.7"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"primary_ip": "300.1.1.1"}, "primary_ip: '300.1.1.1' is not an IPv4 or IPv6"),
        ({"secondary_ip": "10.0.0.1"}, "secondary_ip needs a primary_ip"),
        ({"primary_ip": "10.0.0.1", "secondary_ip": "10.0.0.1"}, "must differ"),
        ({"scope": "admin"}, "scope: 'admin' is not one of read, trade"),
        ({"days": 0}, "days: a key lives 1 to 365 days, not 0"),
        ({"days": 366}, "not 366"),
    ],
)
def test_bad_requests_name_the_problem(account, owner, kwargs, message):
    with pytest.raises(ApiKeyError, match=message):
        create(account, owner, **kwargs)
    assert not ApiKey.objects.exists()


def test_a_key_is_only_for_an_account_its_user_is_linked_to(account, django_user_model):
    stranger = django_user_model.objects.create_user("stranger")
    with pytest.raises(ApiKeyError, match="stranger is not linked to account TS0001"):
        api_key_create(actor=None, user=stranger, account=account, label="x")


def test_active_keys_per_account_are_capped(account, owner, settings):
    settings.API_KEY_MAX_ACTIVE_PER_ACCOUNT = 2
    first, _ = create(account, owner)
    create(account, owner)
    with pytest.raises(ApiKeyError, match="already has 2 active keys"):
        create(account, owner)
    api_key_revoke(actor=None, key=first)
    create(account, owner)  # a revoked key frees its slot


def test_rotation_overlaps_then_the_old_key_expires(account, owner, settings):
    settings.API_KEY_ROTATION_OVERLAP_HOURS = 24
    old, old_secret = create(account, owner, primary_ip="10.0.0.1", algo_id="ALGO9")
    new, new_secret = api_key_rotate(actor=None, key=old)
    old.refresh_from_db()
    assert new_secret != old_secret
    assert (new.primary_ip, new.algo_id, new.account, new.scope) == (
        "10.0.0.1", "ALGO9", account, old.scope,
    )  # fmt: skip
    assert old.replaced_by == new
    assert (
        timezone.now() + timedelta(hours=23)
        < old.expires_at
        <= timezone.now() + timedelta(hours=24)
    )
    with pytest.raises(ApiKeyError, match="already rotated"):
        api_key_rotate(actor=None, key=old)


def test_expiry_retires_keys_and_erases_their_secrets(account, owner):
    key, _ = create(account, owner)
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api_keys_expire() == 1
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert key.secret == ""
    assert api_keys_expire() == 0
    with pytest.raises(ApiKeyError, match="no longer active"):
        api_key_rotate(actor=None, key=key)


def test_static_ips_change_at_most_once_in_seven_days(account, owner):
    key, _ = create(account, owner, primary_ip="10.0.0.1")
    with pytest.raises(ApiKeyError, match="at most once in 7 days"):
        api_key_bind_ips(actor=None, key=key, primary_ip="2001:db8::1")
    assert AuditEvent.objects.filter(action="ops.api_key_ip_change_refused").count() == 1
    ApiKey.objects.filter(pk=key.pk).update(ips_changed_at=timezone.now() - timedelta(days=7))
    key = api_key_bind_ips(
        actor=None, key=key, primary_ip="2001:db8::1", secondary_ip="198.51.100.2"
    )
    assert key.static_ips == ["2001:db8::1", "198.51.100.2"]
    change = AuditEvent.objects.get(action="ops.api_key_ips_changed")
    assert change.before == {"static_ips": ["10.0.0.1"]}
    with pytest.raises(ApiKeyError, match="next change allowed from"):
        api_key_bind_ips(actor=None, key=key, primary_ip="10.0.0.2")


def test_the_first_binding_is_not_a_change(account, owner):
    key, _ = create(account, owner)
    key = api_key_bind_ips(actor=None, key=key, primary_ip="10.0.0.1")
    assert key.static_ips == ["10.0.0.1"]
    with pytest.raises(ApiKeyError, match="a key needs a static IP"):
        api_key_bind_ips(actor=None, key=key, primary_ip="")


def test_the_key_admin_is_for_those_who_manage_keys(
    client, account, owner, user_in_role, otp_login
):
    key, secret = create(account, owner, primary_ip="10.0.0.1")
    otp_login(client, user_in_role("Risk Manager"))
    assert client.get("/admin/ops/apikey/").status_code == 403
    assert client.get("/admin/ops/apikey/add/").status_code == 403
    otp_login(client, user_in_role("Operations", "ops1"))
    page = client.get("/admin/ops/apikey/").content.decode()
    assert key.key_id in page
    assert secret not in page
    rotated = client.post(
        "/admin/ops/apikey/", {"action": "rotate_keys", "_selected_action": [key.pk]}
    ).content.decode()
    successor = ApiKey.objects.get(replaces=key)
    assert successor.key_id in rotated
    assert successor.secret in rotated  # shown once, on this page
    refused = client.post(
        f"/admin/ops/apikey/{key.pk}/ips/", {"primary_ip": "10.9.9.9", "secondary_ip": ""}
    ).content.decode()
    assert "at most once in 7 days" in refused
    bad = client.post("/admin/ops/apikey/add/", {"label": "x"}).content.decode()
    assert "This field is required" in bad
