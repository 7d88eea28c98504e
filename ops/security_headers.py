"""The security headers of every response, listed once, and the middleware that adds ours.

``SECURITY_HEADERS`` is the one list: docs/security-headers.md is generated from it
(``python manage.py security_headers_table``) and ops/tests/test_security_headers.py
asserts each entry on a real HTML page and a real API response. Some headers come from
Django, django-csp, django-permissions-policy or django-guid, configured in settings; the
rest are added by :class:`SecurityHeadersMiddleware` below.
"""

from collections.abc import Callable
from dataclasses import dataclass

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

#: Where a header is sent.
EVERY_RESPONSE = "every response"
API = "API (`/api/`)"
HTTPS = "HTTPS, production"
SIGN_OUT = "sign-out"

API_PREFIX = "/api/"
OURS = "`ops.security_headers` middleware"
CLEAR_SITE_DATA = '"cookies", "storage"'


@dataclass(frozen=True)
class SecurityHeader:
    name: str
    #: The exact value sent; None when it differs per response (the request id).
    value: str | None
    where: str
    set_by: str
    why: str


SECURITY_HEADERS: tuple[SecurityHeader, ...] = (
    SecurityHeader(
        "Strict-Transport-Security",
        "max-age=63072000; includeSubDomains; preload",
        HTTPS,
        "Django `SecurityMiddleware` (`SECURE_HSTS_*`)",
        "Browsers use only HTTPS for this site and its subdomains for two years, so a network "
        "attacker cannot strip TLS from a login.",
    ),
    SecurityHeader(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
        "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'",
        EVERY_RESPONSE,
        "django-csp (`CONTENT_SECURITY_POLICY`)",
        "Scripts only from this site and never inline, so an injected `<script>` does nothing; "
        "nothing loads from a CDN; no plugins, no `<base>` hijack, forms post only here, no "
        "framing. Inline styles stay allowed for the admin, Swagger UI and Redoc.",
    ),
    SecurityHeader(
        "X-Content-Type-Options",
        "nosniff",
        EVERY_RESPONSE,
        "Django `SecurityMiddleware`",
        "The browser trusts the declared Content-Type, so a JSON or text answer is never run as "
        "a script or a style sheet.",
    ),
    SecurityHeader(
        "X-Frame-Options",
        "DENY",
        EVERY_RESPONSE,
        "Django `XFrameOptionsMiddleware`",
        "No page may be framed, so nobody can overlay the admin's buttons (clickjacking); for "
        "browsers that predate CSP `frame-ancestors`.",
    ),
    SecurityHeader(
        "Referrer-Policy",
        "same-origin",
        EVERY_RESPONSE,
        "Django `SecurityMiddleware`",
        "Our URLs, which hold account codes and order ids, are never sent to other sites.",
    ),
    SecurityHeader(
        "Permissions-Policy",
        "accelerometer=(), autoplay=(), browsing-topics=(), camera=(), "
        "clipboard-read=(), clipboard-write=(self), display-capture=(), "
        "encrypted-media=(), fullscreen=(), geolocation=(), gyroscope=(), hid=(), "
        "idle-detection=(), magnetometer=(), microphone=(), midi=(), payment=(), "
        "picture-in-picture=(), publickey-credentials-get=(), screen-wake-lock=(), "
        "serial=(), usb=(), xr-spatial-tracking=()",
        EVERY_RESPONSE,
        "django-permissions-policy (`PERMISSIONS_POLICY`)",
        "A back office needs no camera, microphone, location, payment, USB or sensors: they are "
        "off, even for an injected script. Only writing to the clipboard (Swagger UI's copy "
        "buttons) is allowed, for this site.",
    ),
    SecurityHeader(
        "Cross-Origin-Opener-Policy",
        "same-origin",
        EVERY_RESPONSE,
        "Django `SecurityMiddleware`",
        "A page of another site that opens ours (or that we open) gets no handle on our window.",
    ),
    SecurityHeader(
        "Cross-Origin-Resource-Policy",
        "same-origin",
        EVERY_RESPONSE,
        OURS,
        "Other sites cannot load our responses as images or scripts, which would put API data "
        "into their process for side-channel reads.",
    ),
    SecurityHeader(
        "Cross-Origin-Embedder-Policy",
        "require-corp",
        EVERY_RESPONSE,
        OURS,
        "With COOP this isolates our pages: they may embed only resources that agree to it (all "
        "of ours are same-origin).",
    ),
    SecurityHeader(
        "Origin-Agent-Cluster",
        "?1",
        EVERY_RESPONSE,
        OURS,
        "Asks the browser to keep this origin in its own agent cluster (process), apart from "
        "other origins of the same site.",
    ),
    SecurityHeader(
        "X-Permitted-Cross-Domain-Policies",
        "none",
        EVERY_RESPONSE,
        OURS,
        "Flash and PDF readers may not load cross-domain policy files that would let other "
        "sites read our responses.",
    ),
    SecurityHeader(
        "X-DNS-Prefetch-Control",
        "off",
        EVERY_RESPONSE,
        OURS,
        "The browser does not resolve host names found in our pages ahead of time, which would "
        "tell a resolver what a page links to.",
    ),
    SecurityHeader(
        "X-XSS-Protection",
        "0",
        EVERY_RESPONSE,
        OURS,
        "Turns off old browsers' XSS auditor, which could be abused to leak page content; CSP "
        "does this job properly.",
    ),
    SecurityHeader(
        "Cache-Control",
        "no-store",
        API,
        OURS,
        "Orders, positions, ledgers and KYC data are never kept in a browser or proxy cache.",
    ),
    SecurityHeader(
        "Pragma",
        "no-cache",
        API,
        OURS,
        "The same for HTTP/1.0 caches.",
    ),
    SecurityHeader(
        "X-Request-ID",
        None,
        EVERY_RESPONSE,
        "django-guid (`DJANGO_GUID`)",
        "The id under which the request was logged and audited (the caller's own id if it sent "
        "one); quote it when reporting a problem.",
    ),
    SecurityHeader(
        "Clear-Site-Data",
        CLEAR_SITE_DATA,
        SIGN_OUT,
        "`BackOfficeAdminSite.logout` (`ops.admin_site`)",
        "Signing out wipes this site's cookies and storage from the browser. (`cache` is left "
        "out: admin pages and API answers are never cached, and it makes browsers slow.)",
    ),
)


def clear_site_data(response: HttpResponse) -> HttpResponse:
    """Mark a sign-out response so the browser wipes the site's cookies and storage."""
    response["Clear-Site-Data"] = CLEAR_SITE_DATA
    return response


def _ours(where: str) -> list[tuple[str, str]]:
    return [(h.name, h.value) for h in SECURITY_HEADERS if h.set_by == OURS and h.where == where]


class SecurityHeadersMiddleware:
    """Add the headers of ``SECURITY_HEADERS`` that no other middleware sets.

    Place it right after Django's SecurityMiddleware, so it wraps every response, static
    files included. API answers always replace Cache-Control: no view may make them
    cacheable.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.every_response = _ours(EVERY_RESPONSE)
        self.api = _ours(API)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        for name, value in self.every_response:
            response.headers.setdefault(name, value)
        if request.path.startswith(API_PREFIX):
            for name, value in self.api:
                response[name] = value
        return response


#: Response attributes by which a view asks django-csp for a policy of its own (decorators).
_PER_VIEW = (
    "_csp_config", "_csp_update", "_csp_replace", "_csp_exempt",
    "_csp_config_ro", "_csp_update_ro", "_csp_replace_ro", "_csp_exempt_ro",
)  # fmt: skip
_policies: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {}


@receiver(setting_changed, dispatch_uid="ops.security_headers.csp_changed")
def _csp_changed(setting: str, **kwargs) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _policies.clear()


def _site_policies() -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(header, value, excluded path prefixes) of the site's policy and its report-only one,
    built by django-csp once, not on every response."""
    if "site" not in _policies:
        found = []
        for header, setting, report_only in (
            (HEADER, "CONTENT_SECURITY_POLICY", False),
            (HEADER_REPORT_ONLY, "CONTENT_SECURITY_POLICY_REPORT_ONLY", True),
        ):
            value = build_policy(report_only=report_only)
            prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
            if value:
                found.append((header, value, tuple(prefixes)))
        _policies["site"] = tuple(found)
    return _policies["site"]


class PrebuiltCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, with the site's policy built once.

    A response whose view asked for no policy of its own and whose request drew no nonce
    gets the prebuilt header (the same string django-csp would build); any other response
    goes through django-csp unchanged.
    """

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        debug_page = settings.DEBUG and response.status_code in (404, 500)
        if (
            debug_page
            or getattr(request, "_csp_nonce", None) is not None
            or any(hasattr(response, name) for name in _PER_VIEW)
        ):
            return super().process_response(request, response)
        for header, value, prefixes in _site_policies():
            if header not in response and not request.path_info.startswith(prefixes):
                response[header] = value
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|")


def security_headers_markdown() -> str:
    """The table of docs/security-headers.md, generated from ``SECURITY_HEADERS``."""
    lines = ["| header | value | sent on | set by | why |", "|---|---|---|---|---|"]
    for header in SECURITY_HEADERS:
        value = f"`{header.value}`" if header.value is not None else "a fresh id per request"
        lines.append(
            f"| `{header.name}` | {_cell(value)} | {header.where} | {_cell(header.set_by)} "
            f"| {_cell(header.why)} |"
        )
    return "\n".join(lines) + "\n"
