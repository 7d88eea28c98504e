"""SEBI's daily logout: every session ends at a fixed time of day, IST.

``settings.SESSION_DAILY_LOGOUT_IST`` (env ``SESSION_DAILY_LOGOUT_IST``, default 03:00) is
the cutoff. Two mechanisms enforce it:

- :class:`DailyLogoutMiddleware` ends, on its next request, any signed-in session that
  began before the most recent cutoff, and audits it as ``auth.daily_logout``. This is
  the rule; it also covers sessions that began before the cutoff setting changed.
- At sign-in the session is stamped with its start and set to expire one day after the
  next cutoff, so a session nobody comes back to is purged from the session store and
  the browser. It is kept that one extra day only so the forced logout can be audited
  when its browser returns; past the cutoff it is never usable.

Anything else that grants a session (e.g. API tokens) should refuse it when
:func:`started_before_daily_logout` says so.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from ops.sessionless import sessionless
from tradingsite.errors import API_PREFIX, problem_response

IST = ZoneInfo("Asia/Kolkata")
#: Session key holding when the session signed in (Unix seconds).
SIGNED_IN_AT = "ops.signed_in_at"


def daily_logout_last(now: datetime | None = None) -> datetime:
    """The most recent daily-logout cutoff at or before ``now`` (aware, in IST)."""
    local = (now or timezone.now()).astimezone(IST)
    cutoff_time = settings.SESSION_DAILY_LOGOUT_IST
    cutoff = local.replace(
        hour=cutoff_time.hour, minute=cutoff_time.minute, second=0, microsecond=0
    )
    return cutoff if cutoff <= local else cutoff - timedelta(days=1)


def daily_logout_next(now: datetime | None = None) -> datetime:
    """The first daily-logout cutoff after ``now`` (aware, in IST)."""
    return daily_logout_last(now) + timedelta(days=1)


def started_before_daily_logout(started_at: datetime, now: datetime | None = None) -> bool:
    """Whether a session that began at ``started_at`` has been ended by a daily logout."""
    return started_at < daily_logout_last(now)


def session_signed_in_at(session) -> datetime | None:
    stamp = session.get(SIGNED_IN_AT)
    return datetime.fromtimestamp(stamp, tz=UTC) if isinstance(stamp, int | float) else None


def on_logged_in(sender, request: HttpRequest | None, user, **kwargs) -> None:
    """``user_logged_in`` receiver: stamp the session and bound its life."""
    session = getattr(request, "session", None)
    if session is None:
        return
    now = timezone.now()
    session[SIGNED_IN_AT] = now.timestamp()
    session.set_expiry(daily_logout_next(now) + timedelta(days=1))


def _api_challenge(request: HttpRequest) -> str | None:
    """The API's own 401 challenge (that of its first authentication class)."""
    from rest_framework.settings import api_settings

    classes = api_settings.DEFAULT_AUTHENTICATION_CLASSES
    return classes[0]().authenticate_header(request) if classes else None


class DailyLogoutMiddleware:
    """End a signed-in session that began before the latest daily-logout cutoff.

    The end is audited, then the request goes on signed out: the admin sends the
    browser to its sign-in page (with a message saying why); the API answers 401
    ``session-expired``. Place it after AuthenticationMiddleware and MessageMiddleware.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if sessionless(request):  # no session, so nothing to end or to verify
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        now = timezone.now()
        started = session_signed_in_at(request.session)
        if started is not None and not started_before_daily_logout(started, now):
            return self.get_response(request)
        cutoff = daily_logout_last(now)
        self._audit(user, started, cutoff)
        logout(request)
        detail = (
            f"Your session ended at the daily logout ({cutoff:%H:%M} IST, {cutoff:%d %b %Y}); "
            "sign in again."
        )
        if request.path.startswith(API_PREFIX):
            response = problem_response(request, "session-expired", detail)
            challenge = _api_challenge(request)
            if challenge:
                response["WWW-Authenticate"] = challenge
            return response
        messages.info(request, detail)
        return self.get_response(request)

    @staticmethod
    def _audit(user, started: datetime | None, cutoff: datetime) -> None:
        from compliance.services import audit_record

        audit_record(
            action="auth.daily_logout",
            obj=user,
            actor=user,
            after={
                "signed_in_at": started.isoformat() if started else None,
                "cutoff": cutoff.isoformat(),
            },
        )
