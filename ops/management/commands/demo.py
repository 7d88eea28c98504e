"""Run the whole embedded demo: collect static files, migrate, seed, then web + worker + beat."""

import os
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.test.utils import override_settings
from environ import Env


class Command(BaseCommand):
    help = (
        "Migrate, seed demo data and run web, Celery worker and beat together (Ctrl-C stops all)."
    )
    # migrate runs the system checks, once the static files it would warn about are collected.
    requires_system_checks = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("--bind", default="127.0.0.1:8000", help="host:port for the web server")
        parser.add_argument(
            "--prepare-only", action="store_true", help="Migrate and seed, but start nothing."
        )

    def handle(self, *args, bind: str, prepare_only: bool, **options) -> None:
        # The demo clock, for the seed (its planted trades need the market open) as for
        # the processes started below, which read it from the environment.
        always_open = os.environ.setdefault("MARKETDATA_ALWAYS_OPEN", "true")
        call_command("collectstatic", interactive=False, verbosity=0)
        call_command("migrate", interactive=False, verbosity=1)
        demo_clock = always_open.lower().strip() in Env.BOOLEAN_TRUE_STRINGS
        with override_settings(MARKETDATA_ALWAYS_OPEN=demo_clock):
            call_command("demo_seed")
        if prepare_only:
            return
        self.stdout.write(
            f"\nTradingSite demo on http://{bind}/  (profile: {settings.TRADINGSITE_ENV})\n"
            f"  admin         http://{bind}/admin/\n"
            f"  market watch  http://{bind}/admin/marketdata/instrument/watch/\n"
            f"  API docs      http://{bind}/api/docs/\n"
            f"  readiness     http://{bind}/ready\n"
            "Staff sign in to the admin with their password and a two-factor code: from an "
            "authenticator app holding the 2FA key printed above, or from "
            "`python manage.py totp_code admin`.\n"
            f"Demo clock: MARKETDATA_ALWAYS_OPEN={always_open}: every minute is treated as market "
            "hours, so quotes move at night and on holidays. Set it to false for NSE hours.\n"
        )
        self.stdout.flush()
        procfile = settings.BASE_DIR / "deploy" / "Procfile.demo"
        bin_dir = str(Path(sys.executable).parent)  # gunicorn and celery of this environment
        env = {
            **os.environ,
            "TRADINGSITE_BIND": bind,
            "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
        }
        # honcho runs the three processes and stops them all on Ctrl-C or when one exits.
        os.execvpe(  # noqa: S606 - replaces this process with honcho, by design
            sys.executable,
            [
                sys.executable,
                "-m",
                "honcho",
                "start",
                "-f",
                str(procfile),
                "-d",
                str(settings.BASE_DIR),
            ],
            env,
        )
