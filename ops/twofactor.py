"""TOTP two-factor sign-in (django-otp) for staff: enrolment, and the gate for half-signed-in staff.

Every staff user (``is_staff``) signs in to the admin with a password and a 6-digit code
from an authenticator app. A staff user with no confirmed device yet may sign in with the
password alone, but that session can do only one thing: enrol a device at
``/admin/2fa/enrol/`` (shown the key, an ``otpauth://`` URI and a QR code; confirmed
with a code), which then verifies the session. Everywhere else such a session is refused
by :class:`StaffTwoFactorMiddleware`. Non-staff API users are not asked for a code: they
sign their requests with API keys.

An administrator who deletes a user's device (*OTP TOTP > TOTP devices*) makes that user
enrol again at the next sign-in.
"""

from base64 import b32encode
from collections.abc import Callable

import segno
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from compliance.services import audit_record
from ops.sessionless import sessionless
from tradingsite.errors import API_PREFIX, problem_response

DEVICE_NAME = "authenticator app"


def needs_enrolment(user) -> bool:
    """A signed-in active staff user who has no confirmed TOTP device yet."""
    return bool(
        user.is_authenticated and user.is_active and user.is_staff and not user_has_device(user)
    )


def unverified_staff(user) -> bool:
    """A signed-in staff user whose session has not passed a second factor."""
    if not (user.is_authenticated and user.is_staff):
        return False
    is_verified = getattr(user, "is_verified", None)
    return not (is_verified is not None and is_verified())


def totp_key_base32(device: TOTPDevice) -> str:
    """The secret as authenticator apps take it when typed in (RFC 4648 base32, no padding)."""
    return b32encode(device.bin_key).decode().rstrip("=")


def qr_svg(data: str) -> str:
    """An inline SVG QR code of ``data``, drawn here: no image service, no script."""
    return segno.make(data, error="m").svg_inline(scale=4, border=2, dark="#000", light="#fff")


def totp_enrolment_device(*, user) -> TOTPDevice:
    """The user's draft (unconfirmed) device, made on the first visit and kept until confirmed,
    so reloading the enrolment page does not change the key already scanned."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


@transaction.atomic
def totp_enrol_confirm(*, device: TOTPDevice, token: str) -> bool:
    """Confirm a draft device with a code from the app; False if the code is wrong."""
    device = TOTPDevice.objects.select_for_update(of=("self",)).get(pk=device.pk)
    if device.confirmed or not device.verify_token(token):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=device.user, confirmed=False).delete()
    audit_record(
        action="auth.totp_enrolled",
        obj=device.user,
        actor=device.user,
        after={"device": device.name, "device_id": device.pk},
    )
    return True


@transaction.atomic
def totp_device_issue(*, user, name: str = DEVICE_NAME) -> TOTPDevice:
    """Give ``user`` a confirmed device (the demo seed); the caller hands the key over."""
    device = TOTPDevice.objects.create(user=user, name=name, confirmed=True)
    audit_record(
        action="auth.totp_issued",
        obj=user,
        after={"device": device.name, "device_id": device.pk},
    )
    return device


class StaffTwoFactorMiddleware:
    """Refuse staff sessions that have not passed the second factor, outside the admin.

    The admin handles them itself (it sends them to enrol, or to sign in with a code);
    the API answers 403 ``two-factor-required``; other pages redirect to the admin's
    sign-in. Place it after ``django_otp.middleware.OTPMiddleware``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if sessionless(request):  # no session, so nothing to end or to verify
            return self.get_response(request)
        if not unverified_staff(request.user):
            return self.get_response(request)
        admin_root = reverse("admin:index")
        if request.path.startswith(admin_root):
            return self.get_response(request)
        if request.path.startswith(API_PREFIX):
            return problem_response(
                request,
                "two-factor-required",
                "Staff accounts need two-factor sign-in: sign in at "
                f"{admin_root} with your authenticator code (or set it up there) first.",
            )
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
