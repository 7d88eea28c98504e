"""Write one audit seal now (the beat task does it each minute of the session)."""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from compliance.seal_sinks import SealSinkError
from compliance.seals import SealConflict, SealError, SealRefused
from compliance.services import audit_seal


class Command(BaseCommand):
    help = "Seal every audit chain's head outside the database (skipped if none moved)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--force", action="store_true", help="seal even if nothing moved")

    def handle(self, *args, force: bool = False, **options) -> None:
        try:
            written = audit_seal(force=force)
        except (ImproperlyConfigured, SealSinkError, SealError, SealRefused, SealConflict) as exc:
            raise CommandError(str(exc)) from None
        if written is None:
            self.stdout.write("No chain head moved since the last seal: none written.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Seal {written.number} of {written.seal['chains']:,} chains written to "
                f"{written.where}."
            )
        )
