"""API keys: create (the secret is shown once), rotate with overlap, revoke, bind static IPs
(SEBI: at most one change in seven days), and expire. Every step is audited, never a secret.
"""

import ipaddress
import secrets
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from compliance.services import audit_record, audited_atomic
from ops.models import ApiKey
from orders import locks
from tradingsite.errors import DomainError

IP_CHANGE_INTERVAL = timedelta(days=7)


class ApiKeyError(DomainError, ValueError):
    """A key request that breaks a rule; the message names the rule."""

    problem_type = "unprocessable"


def active_keys(account):
    """Keys of the account that can sign today (a key replaced by rotation does not count
    towards the cap while it runs out its overlap)."""
    return ApiKey.objects.filter(
        account=account, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )


def _ips(primary: str | None, secondary: str | None) -> tuple[str | None, str | None]:
    found = []
    for name, value in (("primary_ip", primary), ("secondary_ip", secondary)):
        if value in (None, ""):
            found.append(None)
            continue
        try:
            found.append(str(ipaddress.ip_address(str(value).strip())))
        except ValueError:
            raise ApiKeyError(f"{name}: {value!r} is not an IPv4 or IPv6 address") from None
    if found[1] and not found[0]:
        raise ApiKeyError("secondary_ip needs a primary_ip")
    if found[0] and found[0] == found[1]:
        raise ApiKeyError("secondary_ip must differ from primary_ip")
    return found[0], found[1]


def _audit(action: str, key: ApiKey, actor, **after) -> None:
    audit_record(
        action=action,
        obj=key,
        actor=actor,
        after={"key_id": key.key_id, "account": key.account.code, "user": key.user.username}
        | after,
    )


def _issue(*, days: int, **fields) -> tuple[ApiKey, str]:
    """A new key row with a fresh ID and secret (256 bits), living ``days``."""
    secret = secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        key_id=f"tsk_{secrets.token_hex(10)}",
        secret=secret,
        expires_at=timezone.now() + timedelta(days=days),
        **fields,
    )
    return key, secret


def api_key_create(
    *, actor, user, account, label: str, scope: str = ApiKey.Scope.READ, days: int | None = None,
    algo_id: str = "", algo_registered: bool = False, primary_ip: str | None = None,
    secondary_ip: str | None = None,
) -> tuple[ApiKey, str]:  # fmt: skip
    """A new key for ``user`` on ``account``; returns it and its secret (shown only now)."""
    from orders.selectors import account_acts_for

    if not label.strip():
        raise ApiKeyError("label: give the key a name, e.g. the strategy or machine using it")
    if scope not in ApiKey.Scope.values:
        raise ApiKeyError(f"scope: {scope!r} is not one of {', '.join(ApiKey.Scope.values)}")
    days = settings.API_KEY_DEFAULT_DAYS if days is None else days
    if not 1 <= days <= settings.API_KEY_MAX_DAYS:
        raise ApiKeyError(f"days: a key lives 1 to {settings.API_KEY_MAX_DAYS} days, not {days}")
    if not account_acts_for(user, account):
        raise ApiKeyError(f"{user} is not linked to account {account.code}")
    primary, secondary = _ips(primary_ip, secondary_ip)
    with audited_atomic():
        locks.account(account.pk)  # the cap, and the account's audit chain
        cap = settings.API_KEY_MAX_ACTIVE_PER_ACCOUNT
        if active_keys(account).filter(replaced_by__isnull=True).count() >= cap:
            raise ApiKeyError(
                f"account {account.code} already has {cap} active keys (the cap); revoke one"
            )
        key, secret = _issue(
            days=days,
            user=user,
            account=account,
            label=label.strip(),
            scope=scope,
            algo_id=algo_id,
            algo_registered=algo_registered,
            primary_ip=primary,
            secondary_ip=secondary,
            ips_changed_at=timezone.now() if primary else None,
        )
        _audit(
            "ops.api_key_created", key, actor, scope=scope, expires_at=key.expires_at.isoformat(),
            static_ips=key.static_ips, algo_id=algo_id,
        )  # fmt: skip
    return key, secret


def api_key_rotate(*, actor, key: ApiKey) -> tuple[ApiKey, str]:
    """A successor with a new secret; the old key stays valid for the overlap, then expires."""
    with audited_atomic():
        locks.account(key.account_id)  # first: the key's audit chain is its account's
        key = (
            ApiKey.objects.select_for_update(of=("self",))
            .select_related("account", "user")
            .get(pk=key.pk)
        )
        if key.revoked_at or key.expires_at <= timezone.now():
            raise ApiKeyError(f"{key.key_id} is no longer active; create a new key instead")
        if key.replaced_by_id:
            raise ApiKeyError(f"{key.key_id} was already rotated to {key.replaced_by.key_id}")
        inherited = [
            "user", "account", "label", "scope", "algo_id", "algo_registered", "primary_ip",
            "secondary_ip", "ips_changed_at",
        ]  # fmt: skip
        successor, secret = _issue(
            days=settings.API_KEY_DEFAULT_DAYS, **{name: getattr(key, name) for name in inherited}
        )
        overlap_ends = timezone.now() + timedelta(hours=settings.API_KEY_ROTATION_OVERLAP_HOURS)
        key.expires_at = min(key.expires_at, overlap_ends)
        key.replaced_by = successor
        key.save(update_fields=["expires_at", "replaced_by"])
        _audit(
            "ops.api_key_rotated", key, actor, successor=successor.key_id,
            old_expires_at=key.expires_at.isoformat(),
        )  # fmt: skip
    return successor, secret


def api_key_revoke(*, actor, key: ApiKey) -> ApiKey:
    with audited_atomic():
        locks.account(key.account_id)  # first: the key's audit chain is its account's
        key = (
            ApiKey.objects.select_for_update(of=("self",))
            .select_related("account", "user")
            .get(pk=key.pk)
        )
        if key.revoked_at:
            raise ApiKeyError(f"{key.key_id} is already revoked")
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        _audit("ops.api_key_revoked", key, actor)
    return key


def api_key_bind_ips(
    *, actor, key: ApiKey, primary_ip: str, secondary_ip: str | None = None
) -> ApiKey:
    """Set the key's static IPs. After the first binding, a change waits seven days."""
    primary, secondary = _ips(primary_ip, secondary_ip)
    if not primary:
        raise ApiKeyError("primary_ip: a key needs a static IP to be used at all")
    refused = ""
    with audited_atomic():
        locks.account(key.account_id)  # first: the key's audit chain is its account's
        key = (
            ApiKey.objects.select_for_update(of=("self",))
            .select_related("account", "user")
            .get(pk=key.pk)
        )
        before = key.static_ips
        if [primary, secondary] == [key.primary_ip, key.secondary_ip]:
            return key
        now = timezone.now()
        if key.ips_changed_at and now - key.ips_changed_at < IP_CHANGE_INTERVAL:
            allowed = timezone.localtime(key.ips_changed_at + IP_CHANGE_INTERVAL)
            refused = (
                f"static IPs change at most once in 7 days; next change allowed from "
                f"{allowed:%Y-%m-%d %H:%M} IST"
            )
        else:
            key.primary_ip, key.secondary_ip, key.ips_changed_at = primary, secondary, now
            key.save(update_fields=["primary_ip", "secondary_ip", "ips_changed_at"])
            audit_record(
                action="ops.api_key_ips_changed",
                obj=key,
                actor=actor,
                before={"static_ips": before},
                after={"key_id": key.key_id, "static_ips": key.static_ips},
            )
    if refused:  # audited on its own: the refusal is a fact to keep
        audit_record(
            action="ops.api_key_ip_change_refused",
            obj=key,
            actor=actor,
            after={"key_id": key.key_id, "requested": [primary, secondary], "current": before},
        )
        raise ApiKeyError(refused)
    return key


def api_keys_expire() -> int:
    """Retire keys past their expiry: mark them revoked and erase their secrets."""
    retired = 0
    for key in ApiKey.objects.filter(revoked_at__isnull=True, expires_at__lte=timezone.now()):
        with audited_atomic():
            key.revoked_at = timezone.now()
            key.secret = ""
            key.save(update_fields=["revoked_at", "secret"])
            _audit("ops.api_key_expired", key, None)
        retired += 1
    return retired
