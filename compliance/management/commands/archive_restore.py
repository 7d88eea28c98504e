"""Restore an archive run, verified, into its read-only copy: ``manage.py archive_restore
RUN_ID --as officer``."""

from django.core.management.base import BaseCommand, CommandError

from compliance.management.commands.archive import officer
from compliance.retention.errors import ArchiveRefused, ArchiveTampered
from compliance.retention.models import ArchiveRun
from compliance.retention.restore import archive_restore


class Command(BaseCommand):
    help = "Verify an archive run and load it into a read-only SQLite copy."

    def add_arguments(self, parser) -> None:
        parser.add_argument("run_id", type=int)
        parser.add_argument("--as", dest="username", required=True, help="The officer's username")

    def handle(self, *args, run_id, username, **options):
        actor = officer(username)
        try:
            run = ArchiveRun.objects.get(pk=run_id)
        except ArchiveRun.DoesNotExist:
            raise CommandError(f"No archive run {run_id}.") from None
        try:
            path = archive_restore(run=run, actor=actor)
        except (ArchiveRefused, ArchiveTampered) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(f"Archive run {run.pk} verified and restored read-only to {path}.")
        )
