"""The session middleware, skipped on requests that cannot belong to a session.

A probe (``/health``, ``/ready``) and an API request that carries no session cookie (a
signed request, or HTTP Basic on the embedded profile) have no session to load, no
signed-in user for django-otp to verify and no messages to show, so loading the session
store, the user and the message storage for them is cost without effect. These subclasses
of Django's and django-otp's middleware (which the admin's system checks still recognise)
pass such requests on with an empty session that is never loaded (so ``request.user`` is
anonymous) and no OTP or message machinery; ``ops.daily_logout`` and ``ops.twofactor`` skip
them too. A request with a session cookie goes through all of them as before, so daily
logout and staff two-factor still apply to every session, on the API too.
"""

from django.conf import settings
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.http import HttpRequest
from django_otp import middleware as otp

PROBES = frozenset({"/health", "/ready"})
API_PREFIX = "/api/"


def sessionless(request: HttpRequest) -> bool:
    """Whether ``request`` is a probe, or an API request without a session cookie."""
    found = request.__dict__.get("_sessionless")
    if found is None:
        path = request.path
        found = path in PROBES or (
            path.startswith(API_PREFIX) and settings.SESSION_COOKIE_NAME not in request.COOKIES
        )
        request._sessionless = found
    return found


class _SessionOnly:
    def __call__(self, request: HttpRequest):
        if sessionless(request):
            return self.get_response(request)
        return super().__call__(request)


class SessionMiddleware(sessions.SessionMiddleware):
    def __call__(self, request: HttpRequest):
        if not sessionless(request) or self.async_mode:
            return super().__call__(request)
        request.session = self.SessionStore(None)  # no key: nothing to load
        response = self.get_response(request)
        if request.session.modified:  # something signed in after all: save it as Django would
            return self.process_response(request, response)
        return response


class OTPMiddleware(_SessionOnly, otp.OTPMiddleware):
    pass


class MessageMiddleware(_SessionOnly, messages.MessageMiddleware):
    pass
