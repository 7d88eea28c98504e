"""RFC 9457 problem details for every API error.

One registry of problem types. DRF's exception handler and Django's own error
handlers (for URLs under ``/api/``) both answer through :func:`problem_body`, so
every error has the same shape::

    {"type": "/api/problems/validation-error", "title": "Invalid input", "status": 400,
     "detail": "...", "instance": "/api/v1/orders", "request_id": "...",
     "errors": {"quantity": ["Ensure this value is greater than 0."]}}

Each ``type`` dereferences to a description at ``/api/problems/<slug>``.
"""

import logging
from dataclasses import asdict, dataclass
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django_guid import get_guid
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
API_PREFIX = "/api/"


@dataclass(frozen=True)
class ProblemType:
    slug: str
    title: str
    status: int
    description: str

    @property
    def uri(self) -> str:
        return f"{API_PREFIX}problems/{self.slug}"


PROBLEM_TYPES: dict[str, ProblemType] = {
    p.slug: p
    for p in [
        ProblemType(
            "validation-error",
            "Invalid input",
            400,
            "One or more fields failed validation. `errors` maps each field to its messages.",
        ),
        ProblemType(
            "malformed-request",
            "Malformed request",
            400,
            "The request body could not be parsed, for example because it is not valid JSON.",
        ),
        ProblemType("bad-request", "Bad request", 400, "The request cannot be served as sent."),
        ProblemType(
            "not-authenticated",
            "Authentication required",
            401,
            "The request carried no credentials. Sign in or sign the request.",
        ),
        ProblemType(
            "authentication-failed",
            "Authentication failed",
            401,
            "The credentials were present but wrong, expired or revoked.",
        ),
        ProblemType(
            "api-key-invalid",
            "Unknown API key",
            401,
            "The signature's keyid names no active API key (unknown, expired or revoked).",
        ),
        ProblemType(
            "signature-invalid",
            "Signature invalid",
            401,
            "The RFC 9421 signature is malformed, misses a required component, parameter or "
            "Content-Digest, or does not match the request (e.g. it was tampered with).",
        ),
        ProblemType(
            "signature-expired",
            "Signature outside the time window",
            401,
            "The signature's created time is more than 300 seconds from the server's clock.",
        ),
        ProblemType(
            "replay",
            "Replayed request",
            401,
            "The signature's nonce was already used: every signed request needs a fresh nonce.",
        ),
        ProblemType(
            "ip-not-allowed",
            "Address not allowed",
            403,
            "The request came from an address outside the API key's static IPs or the allowlist.",
        ),
        ProblemType(
            "scope-insufficient",
            "API key scope too narrow",
            403,
            "The API key is read-only; writes need a key with the trade scope.",
        ),
        ProblemType(
            "permission-denied",
            "Permission denied",
            403,
            "You are signed in, but your role does not allow this.",
        ),
        ProblemType(
            "not-found", "Not found", 404, "There is no resource or endpoint at this address."
        ),
        ProblemType(
            "method-not-allowed",
            "Method not allowed",
            405,
            "This endpoint does not accept that HTTP method; the Allow header lists those it does.",
        ),
        ProblemType(
            "not-acceptable",
            "Not acceptable",
            406,
            "The server cannot answer in any format the Accept header allows.",
        ),
        ProblemType(
            "conflict",
            "Conflict",
            409,
            "The request conflicts with the current state, e.g. a duplicate still in flight.",
        ),
        ProblemType(
            "order-not-working",
            "Order not working",
            409,
            "The order is filled, cancelled, rejected or expired, so it cannot be changed.",
        ),
        ProblemType(
            "idempotency-mismatch",
            "Idempotency key reused",
            422,
            "This client_order_id was used before with a different payload; `order_id` names it.",
        ),
        ProblemType(
            "order-rejected",
            "Order rejected",
            422,
            "The order was recorded as REJECTED; `rejections` lists every reason with its limit.",
        ),
        ProblemType(
            "conversion-refused",
            "Position conversion refused",
            422,
            "The position could not change product (MIS or CNC); the detail says why, naming "
            "the quantity, funds or holdings it lacks. Nothing was changed.",
        ),
        ProblemType(
            "file-altered",
            "Stored file altered",
            409,
            "A stored file no longer matches the sha256 recorded when it was made, so it is "
            "not served. `path` names it; tell compliance.",
        ),
        ProblemType(
            "unsupported-media-type",
            "Unsupported media type",
            415,
            "Send the body as application/json.",
        ),
        ProblemType(
            "unprocessable",
            "Unprocessable request",
            422,
            "The request is well-formed but breaks a business rule.",
        ),
        ProblemType(
            "rate-limited",
            "Too many requests",
            429,
            "Slow down: the Retry-After header says how many seconds to wait.",
        ),
        ProblemType(
            "locked-out",
            "Sign-in locked",
            429,
            "Too many failed sign-ins for this username from this address; Retry-After says "
            "how many seconds the lock lasts. An administrator can unlock it sooner.",
        ),
        ProblemType(
            "session-expired",
            "Session ended by the daily logout",
            401,
            "Sessions end every day at the daily logout time (IST), as SEBI requires. Sign in "
            "again.",
        ),
        ProblemType(
            "two-factor-required",
            "Two-factor sign-in required",
            403,
            "Staff accounts must sign in with their authenticator code (or set one up) in the "
            "admin before using this session.",
        ),
        ProblemType(
            "server-error",
            "Internal server error",
            500,
            "Something failed on our side. Quote the request_id when you report it.",
        ),
        ProblemType(
            "service-unavailable", "Service unavailable", 503, "A dependency is down. Retry later."
        ),
        ProblemType(
            "account-busy",
            "Account busy",
            503,
            "The account's records stayed locked by other work (a fill, a kill switch) past "
            "the lock timeout; nothing was changed. Retry after the Retry-After seconds.",
        ),
    ]
}

_DRF_EXCEPTION_TYPES: list[tuple[type[Exception], str]] = [
    (exceptions.ValidationError, "validation-error"),
    (exceptions.ParseError, "malformed-request"),
    (exceptions.NotAuthenticated, "not-authenticated"),
    (exceptions.AuthenticationFailed, "authentication-failed"),
    (exceptions.PermissionDenied, "permission-denied"),
    (exceptions.NotFound, "not-found"),
    (exceptions.MethodNotAllowed, "method-not-allowed"),
    (exceptions.NotAcceptable, "not-acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported-media-type"),
    (exceptions.Throttled, "rate-limited"),
]


class DomainError(Exception):
    """A business rule a service refused, named by its problem type.

    Services raise subclasses that set ``problem_type``; the API's exception handler maps
    every one of them (views need no try/except). ``errors`` are field errors, ``extra``
    further members of the problem document, ``retry_after`` seconds for a Retry-After.
    """

    problem_type = "unprocessable"
    retry_after: int | None = None

    def __init__(
        self,
        detail: str,
        *,
        errors: dict[str, list[str]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or {}
        self.extra = extra or {}


class ProblemError(exceptions.APIException):
    """An API error of a named problem type, with optional field errors and extra members."""

    problem_type = "bad-request"

    def __init__(
        self,
        detail: str,
        *,
        problem_type: str | None = None,
        errors: dict[str, list[str]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.problem_type = problem_type or self.problem_type
        self.status_code = PROBLEM_TYPES[self.problem_type].status
        self.errors = errors or {}
        self.extra = extra or {}
        super().__init__(detail)


class Conflict(ProblemError):
    problem_type = "conflict"


class Unprocessable(ProblemError):
    problem_type = "unprocessable"


class NotFound(ProblemError):
    problem_type = "not-found"


def get_or_404(objects: QuerySet | type[Model], detail: str, **lookup: Any) -> Any:
    """The one object of ``objects`` matching ``lookup``, or a 404 whose detail says what was
    looked for (e.g. "No order 42 that you may see."), never a bare "Not found."."""
    rows = objects._default_manager.all() if isinstance(objects, type) else objects
    try:
        return rows.get(**lookup)
    except rows.model.DoesNotExist:
        raise NotFound(detail) from None


def problem_body(
    request: HttpRequest | None,
    slug: str,
    detail: str,
    *,
    errors: dict[str, list[str]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The problem+json document for one occurrence of a problem type."""
    problem = PROBLEM_TYPES[slug]
    body: dict[str, Any] = {
        "type": problem.uri,
        "title": problem.title,
        "status": problem.status,
        "detail": detail,
        "instance": request.path if request is not None else None,
        "request_id": get_guid(),
        "errors": errors or {},
    }
    body.update(extra or {})
    return body


def field_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Flatten DRF's nested error detail into ``{"field.sub.0": [messages]}``."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            flat.update(field_errors(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        flat = {}
        for index, item in enumerate(detail):
            flat.update(field_errors(item, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix or "non_field_errors": [str(m) for m in messages]} if messages else {}


def validation_detail(errors: dict[str, list[str]]) -> str:
    fields = ", ".join(errors)
    first = next(iter(errors.values()))[0] if errors else "invalid input"
    if len(errors) == 1:
        return f"{fields}: {first}"
    return f"{len(errors)} fields are invalid: {fields}."


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF ``EXCEPTION_HANDLER``: every APIException becomes problem+json.

    Unexpected exceptions return None so Django logs them and answers through
    :func:`server_error`.
    """
    if isinstance(exc, DomainError):
        return _domain_response(exc, context.get("request"))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, PermissionError):  # a service's refusal, e.g. a report kind, says why
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)  # keeps Retry-After, Allow, WWW-Authenticate
    if response is None:
        return None
    request = context.get("request")
    if isinstance(exc, ProblemError):
        body = problem_body(
            request, exc.problem_type, str(exc.detail), errors=exc.errors, extra=exc.extra
        )
    elif isinstance(exc, exceptions.ValidationError):
        errors = field_errors(exc.detail)
        body = problem_body(request, "validation-error", validation_detail(errors), errors=errors)
    else:
        slug = next((s for cls, s in _DRF_EXCEPTION_TYPES if isinstance(exc, cls)), None) or next(
            (p.slug for p in PROBLEM_TYPES.values() if p.status == response.status_code),
            "bad-request",
        )
        body = problem_body(request, slug, str(getattr(exc, "detail", exc)))
        body["status"] = response.status_code
    response.data = body
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def _domain_response(exc: DomainError, request) -> Response:
    body = problem_body(request, exc.problem_type, exc.detail, errors=exc.errors, extra=exc.extra)
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    return Response(body, status=body["status"], headers=headers, content_type=PROBLEM_CONTENT_TYPE)


# --- Django-level handlers (wired in tradingsite.urls) --------------------------------------


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def problem_response(request: HttpRequest, slug: str, detail: str) -> JsonResponse:
    body = problem_body(request, slug, detail)
    return JsonResponse(body, status=body["status"], content_type=PROBLEM_CONTENT_TYPE)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return problem_response(request, "bad-request", str(exception) or "Bad request.")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return problem_response(
            request, "permission-denied", str(exception) or "Permission denied."
        )
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return problem_response(
            request, "not-found", f"No API endpoint or resource at {request.path}."
        )
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return problem_response(
            request,
            "server-error",
            "The server failed to complete the request; it has been logged.",
        )
    return defaults.server_error(request)


def problem_types(request: HttpRequest, slug: str | None = None) -> JsonResponse:
    """Human-readable description of one problem type, or the list of all of them."""
    if slug is None:
        return JsonResponse(
            {"problem_types": [{**asdict(p), "type": p.uri} for p in PROBLEM_TYPES.values()]}
        )
    problem = PROBLEM_TYPES.get(slug)
    if problem is None:
        return problem_response(request, "not-found", f"There is no problem type called {slug!r}.")
    return JsonResponse({**asdict(problem), "type": problem.uri})
