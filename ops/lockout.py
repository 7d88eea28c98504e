"""Lockout after repeated failed sign-ins (django-axes): what the locked-out client sees.

Axes counts failures per username *and* client address (``AXES_LOCKOUT_PARAMETERS``), so
a stranger guessing a trader's password locks only their own address out, never the
trader. ``LOGIN_FAILURE_LIMIT`` failures (password or two-factor code) within the
cool-off lock that pair for ``LOGIN_LOCKOUT_MINUTES``; each further attempt while locked
starts the cool-off again. The client address is ``ops.netaddr.client_ip``, the same one
the allowlists and the audit trail use.

The admin shows a plain page; the API answers 429 problem+json of type ``locked-out``;
both carry ``Retry-After``. An administrator unlocks early by deleting the row under
*Axes > Access attempts* or with ``python manage.py axes_reset_username USERNAME``.
"""

from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from tradingsite.errors import API_PREFIX, problem_body, problem_response


def cool_off_seconds() -> int:
    cool_off = settings.AXES_COOLOFF_TIME
    return int(cool_off.total_seconds()) if isinstance(cool_off, timedelta) else 0


def _detail(minutes: int) -> str:
    return (
        f"Too many failed sign-ins for this username from your address: it is locked for "
        f"{minutes} minutes. Wait, or ask an administrator to unlock it."
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``: the answer to a request refused by the lockout."""
    seconds = cool_off_seconds()
    minutes = max(1, round(seconds / 60))
    if request.path.startswith(API_PREFIX):
        response = problem_response(request, "locked-out", _detail(minutes))
    else:
        from django.contrib import admin

        context = {
            **admin.site.each_context(request),
            "title": "Sign-in locked",
            "minutes": minutes,
            "failures": settings.AXES_FAILURE_LIMIT,
            "problem": problem_body(request, "locked-out", _detail(minutes)),
        }
        response = TemplateResponse(request, "ops/locked_out.html", context, status=429)
        response.render()
    response["Retry-After"] = str(seconds)
    return response


def flag_drf_lockout(sender, request, **kwargs) -> None:
    """``axes.signals.user_locked_out`` receiver for API sign-ins.

    DRF authenticates with its own request object, so axes flags that one; copy the
    flag to the Django request that ``AxesMiddleware`` looks at.
    """
    django_request = getattr(request, "_request", None)
    if isinstance(django_request, HttpRequest):
        django_request.axes_locked_out = True
        django_request.axes_credentials = getattr(request, "axes_credentials", None)
