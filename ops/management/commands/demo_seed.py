"""Seed the demo data of every app, idempotently: running it twice changes nothing."""

from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

#: Each app's seeder, in dependency order; later apps append theirs. A seeder is a
#: function ``seed(*, stdout, reset_passwords)`` that creates only what is missing.
SEEDERS = [
    "ops.demo.seed",
    "marketdata.demo.seed",
    "orders.demo.seed",
    "risk.demo.seed",
    "compliance.kyc.demo.seed",
    "compliance.screening.demo.seed",
    "compliance.surveillance.demo.seed",  # planted trades and one surveillance run
    "compliance.monitoring.demo.seed",  # planted deposits and trades, one monitoring run
    "compliance.cases.demo.seed",  # cases on those alerts: one filed as an STR
    "compliance.reports.demo.seed",  # the contract notes of every day traded, e-mailed
    "compliance.reports.demo.seed_exports",  # each register exported once, downloadable
    "strategies.demo.seed",  # sma_cross deployed on a paper account, trading the feed's bars
    "compliance.demo.seed",  # last: it checkpoints the audit trail the others wrote to
]


class Command(BaseCommand):
    help = "Seed demo data (users of every role, then each app's data). Safe to run again."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--reset-passwords", action="store_true", help="Issue new passwords to the demo users."
        )

    def handle(self, *args, reset_passwords: bool = False, **options) -> None:
        for path in SEEDERS:
            import_string(path)(stdout=self.stdout, reset_passwords=reset_passwords)
