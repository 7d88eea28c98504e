"""Print the current two-factor code of a demo user: a demo aid, refused in production."""

import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = (
        "Print the current TOTP code of a user's authenticator, to sign in to the demo "
        "without a phone. Refused when TRADINGSITE_ENV=production."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")

    def handle(self, *args, username: str, **options) -> None:
        if settings.PRODUCTION:
            raise CommandError(
                "totp_code is a demo aid: it refuses to run with TRADINGSITE_ENV=production, "
                "where codes come only from each person's authenticator app."
            )
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"There is no user called {username!r}.")
        device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
        if device is None:
            raise CommandError(
                f"{username} has no confirmed authenticator (staff get one from demo_seed or "
                "set one up at their first sign-in)."
            )
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        totp.time = time.time()  # one instant for the code and the seconds left
        code = str(totp.token()).zfill(device.digits)
        left = device.step - (int(totp.time) - device.t0) % device.step
        self.stdout.write(f"{code}  (valid for {left} more seconds, for {username})")
