"""RFC 9421 HTTP Message Signatures (hmac-sha256) for API keys, as a DRF authentication.

A signed request carries ``Signature-Input`` and ``Signature`` covering ``@method``,
``@authority``, ``@path`` and ``@query`` (and ``content-digest``, RFC 9530 sha-256, when it
has a body), with the parameters ``keyid``, ``created`` (within +-300 s of the server's
clock) and ``nonce`` (each used once: kept in Redis in production, in the local cache on the
embedded profile, for the window). The http-message-signatures library parses the structured
fields and checks the HMAC in constant time; this module adds the key lookup (``ops.signers``:
one query, or none from the process's cache), the clock window, the nonce, the key's static
IPs and its scope (a read key may not write). The nonce, the cache's change stamps, the
allowlist's stamp and the rate-limit tokens cost one round trip together
(``ops.admission``). Requests without a signature fall through to the session.
"""

import datetime

from django.utils import timezone
from http_message_signatures import (
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    InvalidSignature,
    algorithms,
)
from prometheus_client import Counter
from rest_framework import authentication, permissions

from ops.admission import admit
from ops.allowlist import allowlist_confirm
from ops.models import ApiKey
from ops.netaddr import client_ip
from ops.ratelimits import limits_for_key, rate_decision
from ops.signers import Signer, signer_cached, signer_load
from ops.stamps import ALLOWLIST

COVERED = ("@method", "@authority", "@path", "@query")
WINDOW = datetime.timedelta(seconds=300)
REFUSALS = Counter(
    "api_signature_refusals_total", "Signed API requests refused, by problem type", ["type"]
)


class Verifier(HTTPMessageVerifier):
    # The library allows created up to max_clock_skew ahead, and max_age + max_clock_skew
    # behind; with max_age 0 (see verify below) both sides of the window are 300 s.
    max_clock_skew = WINDOW


class _Keys(HTTPSignatureKeyResolver):
    """Finds the signer named by ``keyid`` (``ops.signers``); keeps it for the caller."""

    def __init__(self) -> None:
        self.signer: Signer | None = None
        self.loaded = False

    def resolve_public_key(self, key_id: str) -> bytes | None:
        signer = signer_cached(key_id)
        if signer is None:
            signer, self.loaded = signer_load(key_id, seen=None), True
        if signer is None:
            return None
        self.signer = signer
        return signer.secret.encode()


class _Message:
    """The request as the library reads it: method, absolute URL and header fields."""

    def __init__(self, request) -> None:
        self.method = request.method
        self.url = request.build_absolute_uri()
        # A plain dict: the library walks every field three times, and HttpHeaders' mapping
        # views are slow to walk.
        self.headers = dict(request.headers)


def api_key(request) -> ApiKey | None:
    """The API key that signed the request, if one did."""
    return request.auth if isinstance(request.auth, ApiKey) else None


def refuse(problem_type: str, detail: str):
    from tradingsite.errors import ProblemError  # it imports DRF, which imports this module

    REFUSALS.labels(problem_type).inc()
    return ProblemError(detail, problem_type=problem_type)


class SignedRequestAuthentication(authentication.BaseAuthentication):
    """``request.user`` is the key's user and ``request.auth`` the ``ApiKey``."""

    def authenticate(self, request):
        if "Signature-Input" not in request.headers and "Signature" not in request.headers:
            return None
        body = request._request.body  # the raw bytes the digest covers
        keys = _Keys()
        try:
            result = Verifier(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=keys).verify(
                _Message(request._request),
                max_age=datetime.timedelta(0),
                require_components=COVERED,
                body=body,
            )[0]
        except InvalidSignature as exc:
            reason = str(exc)
            if keys.signer is None and "resolve" in reason:
                raise refuse("api-key-invalid", "The keyid names no active API key.") from exc
            if "future" in reason or "age exceeds" in reason:
                raise refuse(
                    "signature-expired",
                    "The signature's created time is more than 300 s from the server's clock.",
                ) from exc
            raise refuse("signature-invalid", f"The signature does not verify: {reason}") from exc
        signer = keys.signer
        if not result.nonce:
            raise refuse("signature-invalid", "The signature needs a nonce parameter.")
        key = signer.api_key()
        limits = limits_for_key(key, request.method, request.path)
        # One round trip: the nonce, the stamps of the cached signer and the allowlist, the
        # key's first use this minute, and the rate-limit tokens (ops.admission). A signature
        # is acceptable for 600 s (created +-300 s), so its nonce is kept that long.
        admission = admit(
            nonce=f"{signer.key_id}:{result.nonce}",
            stamps=(*signer.stamp_names, ALLOWLIST),
            used=signer.key_id,
            buckets=[limit.bucket for limit in limits],
        )
        if admission.replay:
            raise refuse("replay", "This nonce was already used: the request is a replay.")
        stamps, allowlist_stamp = admission.stamps[:-1], admission.stamps[-1]
        current = None
        if not keys.loaded and not signer.current(stamps):
            signer = signer_load(signer.key_id, seen=stamps)
            if signer is None:
                raise refuse("api-key-invalid", "The keyid names no active API key.")
            key = signer.api_key()
            current = limits_for_key(key, request.method, request.path)
        if key.scope != ApiKey.Scope.TRADE and request.method not in permissions.SAFE_METHODS:
            raise refuse("scope-insufficient", f"API key {key.key_id} is read-only.")
        ip = client_ip(request._request)
        if ip not in key.static_ips:
            raise refuse(
                "ip-not-allowed",
                f"Requests with key {key.key_id} must come from its static IPs; this one came "
                f"from {ip}.",
            )
        allowlist_confirm(request._request, allowlist_stamp)
        request._request.rate_admission = rate_decision(limits, admission, current)
        if admission.first_use:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
        return key.user, key

    def authenticate_header(self, request) -> str:
        return 'Signature realm="api"'
