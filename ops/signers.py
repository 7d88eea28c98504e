"""Who signs a request: an active API key with its account, its user and the user's roles and
permissions, resolved in one query and kept in the process for a few seconds.

An entry (:class:`Signer`) is a snapshot of plain values; each request gets model instances
of its own built from it, with the permission caches Django's ``ModelBackend`` reads already
filled, so ``has_perm`` and ``/api/v1/me`` need no query. An entry is used only while the
change stamps (``ops.stamps``) of its key, its user and the roles' permissions are those
read *before* it was loaded, and for at most ``API_KEY_CACHE_SECONDS``. The receivers below
bump those stamps on every save or delete of a key, a user, a group or a permission and on
every change of a user's groups or permissions, a group's permissions or an account's
linked users, so a revocation, an expiry, a new static IP, a role change or an unlinked
account applies on the very next request in every process. An entry loaded on a cold cache
was loaded before any stamp was read, so the next request confirms it with one more query.
Changes that bypass the models (``QuerySet.update`` of these fields, raw SQL) are seen within
``API_KEY_CACHE_SECONDS``.
"""

import datetime
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db.models import Aggregate, CharField, Exists, JSONField, OuterRef, Subquery, Value
from django.db.models.functions import Concat
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from ops.models import ApiKey
from ops.stamps import PERMISSIONS, key_stamp, stamp_bump, user_stamp
from orders.models import TradingAccount

MAX_ENTRIES = 10000
_entries: dict[str, "Signer"] = {}


class JSONList(Aggregate):
    """The values as a JSON array: ``json_group_array`` on SQLite, ``jsonb_agg`` on PostgreSQL."""

    function = "JSON_GROUP_ARRAY"
    allow_distinct = True
    output_field = JSONField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="JSONB_AGG", **extra_context)


_FIELDS: dict[type, list[str]] = {}


def _fields(model) -> list[str]:
    if model not in _FIELDS:
        _FIELDS[model] = [field.attname for field in model._meta.concrete_fields]
    return _FIELDS[model]


@dataclass(frozen=True)
class Signer:
    key_id: str
    secret: str
    user_id: int
    expires_at: datetime.datetime
    key_values: tuple
    user_values: tuple
    account_code: str
    #: Whether the key's user is linked to the key's account (acting on it needs the link).
    linked: bool
    #: None for a superuser, whose permissions ModelBackend loads itself (all of them).
    user_permissions: frozenset[str] | None
    group_permissions: frozenset[str] | None
    roles: tuple[str, ...]
    #: The stamps read before the load; None when it was loaded before any was read.
    seen: tuple | None
    loaded_at: float

    @property
    def stamp_names(self) -> tuple[str, str, str]:
        return key_stamp(self.key_id), user_stamp(self.user_id), PERMISSIONS

    def current(self, stamps: tuple) -> bool:
        """Whether this entry still stands for the key, given the stamps just read."""
        age = time.monotonic() - self.loaded_at
        return self.seen == stamps and age < settings.API_KEY_CACHE_SECONDS

    def api_key(self) -> ApiKey:
        """A fresh ``ApiKey`` with its user and account, for one request."""
        key = ApiKey.from_db("default", _fields(ApiKey), self.key_values)
        user_model = get_user_model()
        user = user_model.from_db("default", _fields(user_model), self.user_values)
        if self.user_permissions is not None:
            user._user_perm_cache = set(self.user_permissions)
            user._group_perm_cache = set(self.group_permissions)
            user._perm_cache = user._user_perm_cache | user._group_perm_cache
        user.role_names = list(self.roles)
        account = TradingAccount.from_db(
            "default", ["id", "code"], [key.account_id, self.account_code]
        )
        ApiKey._meta.get_field("user").set_cached_value(key, user)
        account.linked = self.linked  # as orders.selectors.accounts_for(acting=True) gives it
        ApiKey._meta.get_field("account").set_cached_value(key, account)
        return key


def _labels(prefix: str = "") -> Concat:
    return Concat(
        f"{prefix}content_type__app_label",
        Value("."),
        f"{prefix}codename",
        output_field=CharField(),
    )


def _list_of(queryset, group_by: str, value, *, distinct: bool = False) -> Subquery:
    return Subquery(
        queryset.order_by()
        .values(group_by)
        .annotate(v=JSONList(value, distinct=distinct))
        .values("v")
    )


def signer_load(key_id: str, *, seen: tuple | None) -> Signer | None:
    """The active key ``key_id`` of an active user, in one query, kept for the process; None
    (and nothing kept) when there is none."""
    user = OuterRef("user_id")
    key = (
        ApiKey.objects.select_related("user", "account")
        .filter(
            key_id=key_id,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
            user__is_active=True,
        )
        .annotate(
            linked=Exists(
                TradingAccount.users.through.objects.filter(
                    tradingaccount_id=OuterRef("account_id"), user_id=user
                )
            ),
            roles=_list_of(Group.objects.filter(user=user), "user", "name"),
            user_permissions=_list_of(Permission.objects.filter(user=user), "user", _labels()),
            group_permissions=_list_of(
                Permission.objects.filter(group__user=user), "group__user", _labels(), distinct=True
            ),
        )
        .order_by()[:1]
    )
    key = next(iter(key), None)
    if key is None:
        _entries.pop(key_id, None)
        return None
    superuser = key.user.is_superuser
    signer = Signer(
        key_id=key.key_id,
        secret=key.secret,
        user_id=key.user_id,
        expires_at=key.expires_at,
        key_values=tuple(getattr(key, name) for name in _fields(ApiKey)),
        user_values=tuple(getattr(key.user, name) for name in _fields(get_user_model())),
        account_code=key.account.code,
        linked=key.linked,
        user_permissions=None if superuser else frozenset(key.user_permissions or ()),
        group_permissions=None if superuser else frozenset(key.group_permissions or ()),
        roles=tuple(sorted(key.roles or ())),
        seen=seen,
        loaded_at=time.monotonic(),
    )
    if settings.API_KEY_CACHE_SECONDS > 0:
        if len(_entries) >= MAX_ENTRIES:
            _entries.pop(next(iter(_entries)), None)
        _entries[key_id] = signer
    return signer


def signer_cached(key_id: str) -> Signer | None:
    """The process's entry for ``key_id`` if it has one for a key not yet past its expiry
    (it may still need confirming: see :meth:`Signer.current`)."""
    signer = _entries.get(key_id)
    if signer is not None and signer.expires_at <= timezone.now():
        _entries.pop(key_id, None)
        return None
    return signer


def signers_forget() -> None:
    """Drop every entry of this process."""
    _entries.clear()


# --- What changes an entry -----------------------------------------------------------------

_CHANGED = {"post_add", "post_remove", "post_clear"}


@receiver([post_save, post_delete], sender=ApiKey, dispatch_uid="ops.signers.key")
def _key_changed(instance, **kwargs) -> None:
    stamp_bump(key_stamp(instance.key_id))


@receiver(
    [post_save, post_delete], sender=settings.AUTH_USER_MODEL, dispatch_uid="ops.signers.user"
)
def _user_changed(instance, **kwargs) -> None:
    stamp_bump(user_stamp(instance.pk))


def _membership_changed(instance, action: str, **kwargs) -> None:
    if action not in _CHANGED:
        return
    if isinstance(instance, get_user_model()):
        stamp_bump(user_stamp(instance.pk))
    else:  # from the group's or the permission's side: which users is not worth working out
        stamp_bump(PERMISSIONS)


def _links_changed(instance, action: str, pk_set=None, **kwargs) -> None:
    """A user linked to or unlinked from an account: their keys' ``linked`` changes."""
    if action not in _CHANGED:
        return
    if isinstance(instance, TradingAccount):
        for user_id in pk_set or ():
            stamp_bump(user_stamp(user_id))
        if action == "post_clear":  # which users were linked is gone
            stamp_bump(PERMISSIONS)
    else:
        stamp_bump(user_stamp(instance.pk))


m2m_changed.connect(
    _links_changed, sender=TradingAccount.users.through, dispatch_uid="ops.signers.links"
)


def _roles_changed(created: bool = False, **kwargs) -> None:
    if not created:  # a new group or permission is held by nobody yet
        stamp_bump(PERMISSIONS)


_user = get_user_model()
for _through in (_user.groups.through, _user.user_permissions.through):
    m2m_changed.connect(
        _membership_changed, sender=_through, dispatch_uid=f"ops.signers.{_through}"
    )
m2m_changed.connect(
    lambda action, **kwargs: action in _CHANGED and stamp_bump(PERMISSIONS),
    sender=Group.permissions.through,
    weak=False,
    dispatch_uid="ops.signers.group_permissions",
)
for _model in (Group, Permission):
    post_save.connect(_roles_changed, sender=_model, dispatch_uid=f"ops.signers.{_model}.save")
    post_delete.connect(_roles_changed, sender=_model, dispatch_uid=f"ops.signers.{_model}.delete")
