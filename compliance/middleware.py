"""Middleware that makes the request's user, IP and request id available to audit_record."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django_guid import get_guid

from compliance.context import AuditContext, audit_context, client_ip


class AuditContextMiddleware:
    """Set the audit context for the length of one request, then reset it.

    Place it after AuthenticationMiddleware (and after django_guid's middleware, which
    sets the request id).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = audit_context.set(
            AuditContext(request=request, source_ip=client_ip(request), request_id=get_guid())
        )
        try:
            return self.get_response(request)
        finally:
            audit_context.reset(token)
