"""The back office's admin site: sign-in with a TOTP code, enrolment, and a sign-out that wipes.

``ops.apps.BackOfficeAdminConfig`` makes :class:`BackOfficeAdminSite` the default
``admin.site``, so every ``@admin.register`` lands here. The site is django-otp's
``OTPAdminSite``: only sessions verified by a code get in. See ``ops.twofactor`` for the
flow, ``ops.lockout`` for repeated failures.
"""

from django import forms
from django.contrib import messages
from django.contrib.admin import ModelAdmin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import redirect_to_login
from django.db.models.base import ModelBase
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite
from django_otp.forms import OTPAuthenticationFormMixin

from ops.security_headers import clear_site_data
from ops.twofactor import (
    needs_enrolment,
    qr_svg,
    totp_enrol_confirm,
    totp_enrolment_device,
    totp_key_base32,
)
from tradingsite.admin import KeptRecordAdmin
from tradingsite.records import is_kept

CODE_ERRORS = {
    **OTPAuthenticationFormMixin.otp_error_messages,
    "token_required": "Enter the 6-digit code from your authenticator app.",
    "invalid_token": "That code is wrong or has expired: enter the current code from your "
    "authenticator app.",
    "device_required": "Choose which authenticator to use.",
}


def _code_field() -> forms.CharField:
    return forms.CharField(
        required=False,
        label="Authentication code",
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class BackOfficeLoginForm(OTPAdminAuthenticationForm):
    """Password, then the code of the user's authenticator.

    With one confirmed device (the usual case) it is used without asking; with several
    the user picks one. A staff user with no device yet passes on the password alone
    and is sent to enrol. A wrong code counts as a failed sign-in: it is audited and
    counts towards the lockout.

    An active user who is not staff and gave the right password (a trader, say) is told
    that the admin is for staff and where to go instead; only someone who knows the
    password learns that it was right. As before, that is no failed sign-in for the
    lockout, and no sign-in either.
    """

    otp_token = _code_field()
    otp_error_messages = CODE_ERRORS
    error_messages = {
        **OTPAdminAuthenticationForm.error_messages,
        "not_staff": "The back-office admin is for staff. Traders and clients sign in to the "
        "trading app at /login/; algo clients use the API at /api/v1/ with signed API keys.",
    }

    def confirm_login_allowed(self, user) -> None:
        AuthenticationForm.confirm_login_allowed(self, user)  # refuses inactive users
        if not user.is_staff:
            raise forms.ValidationError(self.error_messages["not_staff"], code="not_staff")

    @property
    def refused_as_not_staff(self) -> bool:
        """Whether the password was right but the user is not staff (the template says more)."""
        return any(error.code == "not_staff" for error in self.non_field_errors().as_data())

    def code_needed(self, user) -> bool:
        """Whether ``user`` must give a code here: staff with an authenticator (staff
        without one enrol after the password)."""
        return not needs_enrolment(user)

    def clean(self):
        self.cleaned_data = AdminAuthenticationForm.clean(self)
        user = self.get_user()
        if user is None or not self.code_needed(user):
            return self.cleaned_data
        try:
            self.clean_otp(user)
        except forms.ValidationError as error:
            if error.code == "invalid_token":
                user_login_failed.send(
                    sender=__name__,
                    credentials={"username": user.get_username(), "second_factor": "totp"},
                    request=self.request,
                )
            raise
        return self.cleaned_data

    def _chosen_device(self, user):
        device = super()._chosen_device(user)
        if device is None:
            devices = list(devices_for_user(user, for_verify=True))
            if len(devices) == 1:
                device = devices[0]
        return device

    @property
    def asks_for_device(self) -> bool:
        """Whether to show the device choice (only to a user with several devices)."""
        return len(self.fields["otp_device"].widget.choices) > 2


class TotpConfirmForm(forms.Form):
    code = forms.CharField(
        label="Code from the app",
        min_length=6,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class BackOfficeAdminSite(OTPAdminSite):
    """The admin, for staff verified by a TOTP code."""

    login_form = BackOfficeLoginForm
    login_template = "ops/admin/login.html"

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)

    def register(self, model_or_iterable, admin_class=None, **options) -> None:
        """Register as usual; a kept record's admin refuses deletion whatever its class says
        (see ``tradingsite.records``)."""
        single = isinstance(model_or_iterable, ModelBase)
        for model in [model_or_iterable] if single else model_or_iterable:
            base = admin_class or ModelAdmin
            if is_kept(model) and not issubclass(base, KeptRecordAdmin):
                base = type(base.__name__, (KeptRecordAdmin, base), {"__module__": base.__module__})
            super().register(model, base, **options)

    def get_urls(self):
        return [
            path("2fa/enrol/", self.totp_enrol, name="totp_enrol"),
            # Staff who signed in with a password only may sign out too (the stock
            # route sends anyone without admin permission back to the index).
            path("logout/", self.logout, name="logout"),
            *super().get_urls(),
        ]

    def _enrol_redirect(self, request: HttpRequest) -> HttpResponseRedirect:
        return redirect_to_login(
            self._next_url(request), reverse("admin:totp_enrol", current_app=self.name)
        )

    def _next_url(self, request: HttpRequest) -> str:
        wanted = request.POST.get("next") or request.GET.get("next") or ""
        if url_has_allowed_host_and_scheme(
            wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return wanted
        return reverse("admin:index", current_app=self.name)

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        if request.method == "GET" and needs_enrolment(request.user):
            return self._enrol_redirect(request)
        response = super().login(request, extra_context)
        signed_in = request.method == "POST" and response.status_code == 302
        if signed_in and needs_enrolment(request.user):
            return self._enrol_redirect(request)
        return response

    def logout(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        response = super().logout(request, extra_context)
        return clear_site_data(response) if response.status_code < 400 else response

    @method_decorator(never_cache)
    @method_decorator(csrf_protect)
    def totp_enrol(self, request: HttpRequest) -> HttpResponse:
        """Set up the authenticator of a staff user signed in with a password only."""
        user = request.user
        login_url = reverse("admin:login", current_app=self.name)
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return redirect_to_login(request.get_full_path(), login_url)
        next_url = self._next_url(request)
        if not needs_enrolment(user):
            if user.is_verified():
                messages.info(request, "Two-factor sign-in is already set up for you.")
                return HttpResponseRedirect(next_url)
            # Has a device, but this session has not used it: sign in with the code.
            return redirect_to_login(next_url, login_url)
        device = totp_enrolment_device(user=user)
        form = TotpConfirmForm(request.POST or None)
        if form.is_valid():
            if totp_enrol_confirm(device=device, token=form.cleaned_data["code"]):
                device.refresh_from_db()
                request.session.cycle_key()
                otp_login(request, device)
                messages.success(request, "Two-factor sign-in is set up. Welcome.")
                return HttpResponseRedirect(next_url)
            form.add_error(
                "code",
                "That code does not match: check that your phone's clock is right and enter "
                "the code the app shows now.",
            )
        context = {
            **self.each_context(request),
            "title": "Set up two-factor sign-in",
            "form": form,
            "key": totp_key_base32(device),
            "uri": device.config_url,
            "qr": qr_svg(device.config_url),
            "next": next_url,
        }
        request.current_app = self.name
        return TemplateResponse(request, "ops/admin/totp_enrol.html", context)
