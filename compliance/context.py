"""Who is acting, from where: the request context that audit events are stamped with.

``AuditContextMiddleware`` stores the current request here for the length of the
request. The user is read from the stored request when an event is recorded, not when
the request arrives, because DRF authenticates lazily inside the view.
"""

from contextvars import ContextVar
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest


@dataclass(frozen=True)
class AuditContext:
    request: HttpRequest
    source_ip: str | None
    request_id: str | None

    @property
    def user(self) -> AbstractBaseUser | None:
        """The request's authenticated user at this moment, or None."""
        user = getattr(self.request, "user", None)
        return user if user is not None and user.is_authenticated else None


audit_context: ContextVar[AuditContext | None] = ContextVar("audit_context", default=None)


def client_ip(request: HttpRequest) -> str | None:
    """The address the request came from, as ``ops.netaddr.client_ip`` finds it.

    The same function serves the allowlists, the lockout (django-axes) and request
    signing, so an audit event names the address those acted on; X-Forwarded-For
    counts only from the trusted proxies.
    """
    from ops.netaddr import client_ip as network_client_ip

    return network_client_ip(request) or None


def current_audit_context() -> AuditContext | None:
    """The context of the request being served in this thread or task, if any."""
    return audit_context.get()
