"""Verify an archive run: every checksum, and the audit chain across its boundaries;
exit non-zero naming the file that fails."""

from django.core.management.base import BaseCommand, CommandError

from compliance.retention.errors import ArchiveTampered
from compliance.retention.models import ArchiveRun
from compliance.retention.verify import archive_verify


class Command(BaseCommand):
    help = "Re-hash an archive run's manifest and files and check its audit chains."

    def add_arguments(self, parser) -> None:
        parser.add_argument("run_id", type=int)

    def handle(self, *args, run_id, **options):
        try:
            run = ArchiveRun.objects.get(pk=run_id)
        except ArchiveRun.DoesNotExist:
            raise CommandError(f"No archive run {run_id}.") from None
        try:
            report = archive_verify(run=run)
        except ArchiveTampered as error:
            raise CommandError(str(error)) from None
        self.stdout.write(self.style.SUCCESS(str(report)))
