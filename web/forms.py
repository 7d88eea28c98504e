"""The web app's sign-in: password, and the authenticator's code for a user who has one."""

from django import forms
from django_otp import devices_for_user

from ops.admin_site import BackOfficeLoginForm


class TraderLoginForm(BackOfficeLoginForm):
    """The back office's sign-in turned round: for traders and clients, not staff (they
    sign in to the admin). A user with a confirmed authenticator gives its code too; a
    wrong code is a failed sign-in (audited, counted towards the lockout)."""

    error_messages = {
        **BackOfficeLoginForm.error_messages,
        "staff": "This sign-in is for traders and clients. Staff sign in to the back office "
        "at /admin/ with their authentication code.",
    }

    def confirm_login_allowed(self, user) -> None:
        if not user.is_active:
            raise forms.ValidationError(self.error_messages["inactive"], code="inactive")
        if user.is_staff:
            raise forms.ValidationError(self.error_messages["staff"], code="staff")

    def code_needed(self, user) -> bool:
        return any(True for _ in devices_for_user(user, confirmed=True))
