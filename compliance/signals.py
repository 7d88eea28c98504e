"""Receivers that put logins, logouts, failed logins, lockouts and admin changes on the audit
trail.

Connected in ``ComplianceConfig.ready()``.
"""

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth import get_user_model
from django.http import HttpRequest

from compliance.context import client_ip
from compliance.services import audit_record, audited_atomic

ADMIN_ACTIONS = {ADDITION: "admin.add", CHANGE: "admin.change", DELETION: "admin.delete"}


def _ip(request: HttpRequest | None) -> str | None:
    return client_ip(request) if request is not None else None


def _user_type() -> str:
    return get_user_model()._meta.label_lower


def on_logged_in(sender, request: HttpRequest | None, user, **kwargs) -> None:
    """Record a sign-in, and whether a second factor (a TOTP code) was checked."""
    second_factor = "totp" if getattr(user, "otp_device", None) is not None else None
    audit_record(
        action="auth.login",
        obj=user,
        actor=user,
        source_ip=_ip(request),
        after={"second_factor": second_factor},
    )


def on_logged_out(sender, request: HttpRequest | None, user, **kwargs) -> None:
    if user is None:  # logging out when not logged in
        return
    audit_record(action="auth.logout", obj=user, actor=user, source_ip=_ip(request))


def on_login_failed(
    sender, credentials: dict, request: HttpRequest | None = None, **kwargs
) -> None:
    """Record the username tried, never the password (Django has masked it anyway).

    A wrong two-factor code after a right password is sent with ``second_factor``
    set (by ``ops.admin_site``), and recorded so.
    """
    field = get_user_model().USERNAME_FIELD
    attempted = credentials.get(field, credentials.get("username", ""))
    after = {"username": str(attempted)[:150]}
    if credentials.get("second_factor"):
        after["second_factor"] = str(credentials["second_factor"])[:20]
    audit_record(
        action="auth.login_failed", object_type=_user_type(), source_ip=_ip(request), after=after
    )


def on_locked_out(sender, request, username: str | None = None, ip_address=None, **kwargs) -> None:
    """Record that a username was locked out from an address (django-axes).

    Axes signals on every attempt while the lock lasts; each of those is already an
    ``auth.login_failed`` event, so only the failure that reached the limit is recorded.
    """
    from django.conf import settings

    failures = getattr(request, "axes_failures_since_start", None)
    if failures is not None and failures != settings.AXES_FAILURE_LIMIT:
        return
    audit_record(
        action="auth.locked_out",
        object_type=_user_type(),
        source_ip=ip_address or _ip(request),
        after={"username": str(username or "")[:150], "failures": failures},
    )


def on_admin_log_entry(
    sender, instance: LogEntry, created: bool, raw: bool = False, **kwargs
) -> None:
    """Record each admin addition, change and deletion the admin logs."""
    if not created or raw:
        return
    content_type = instance.content_type
    audit_record(
        action=ADMIN_ACTIONS.get(instance.action_flag, "admin.other"),
        object_type=f"{content_type.app_label}.{content_type.model}" if content_type else "",
        object_id="" if instance.object_id is None else str(instance.object_id)[:64],
        actor=instance.user,
        after={
            "object_repr": instance.object_repr,
            "change_message": instance.get_change_message(),
            "log_entry_id": instance.pk,
        },
    )


def audit_bulk_admin_logs() -> None:
    """Send the admin's bulk log entries through ``on_admin_log_entry`` too.

    Django writes the log of a multi-object admin action (e.g. "delete selected") with
    ``bulk_create``, which sends no ``post_save``. Wrapping the manager's ``log_actions``
    covers every ModelAdmin, ours and third-party. A single entry is saved with ``save()``
    and already reaches the receiver, so only lists of two or more are handled here.
    """
    manager = type(LogEntry.objects)
    if getattr(manager.log_actions, "audits_bulk", False):
        return
    original = manager.log_actions

    def log_actions(
        self, user_id, queryset, action_flag, change_message="", *, single_object=False
    ):
        result = original(
            self, user_id, queryset, action_flag, change_message, single_object=single_object
        )
        entries = result if isinstance(result, list) else [result]
        if len(entries) > 1:
            with audited_atomic():
                for entry in entries:
                    on_admin_log_entry(sender=LogEntry, instance=entry, created=True)
        return result

    log_actions.audits_bulk = True
    manager.log_actions = log_actions
