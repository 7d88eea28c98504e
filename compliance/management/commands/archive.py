"""Archive one past month of one record kind: ``manage.py archive audit_events 2020-03 --as
officer [--release]`` (docs/compliance-retention.md)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from compliance.retention.archive import archive_month
from compliance.retention.errors import ArchiveRefused, ArchiveTampered
from compliance.retention.models import RecordKind
from compliance.retention.release import archive_release


def officer(username: str):
    """The active user the command acts as (its permissions are checked by the service)."""
    try:
        return get_user_model().objects.get(username=username, is_active=True)
    except get_user_model().DoesNotExist:
        raise CommandError(f"No active user {username!r}: --as names the officer.") from None


class Command(BaseCommand):
    help = "Archive a month of a record kind to Parquet files and a manifest; --release too."

    def add_arguments(self, parser) -> None:
        parser.add_argument("kind", choices=RecordKind.values)
        parser.add_argument("month", help="YYYY-MM")
        parser.add_argument("--as", dest="username", required=True, help="The officer's username")
        parser.add_argument(
            "--release",
            action="store_true",
            help="Then release the month's rows from the online tables (verified first)",
        )

    def handle(self, *args, kind, month, username, release=False, **options):
        actor = officer(username)
        try:
            run = archive_month(kind=kind, month=month, actor=actor)
            self.stdout.write(
                f"Archive run {run.pk}: {run.rows:,} rows of {kind} {run.month:%Y-%m} in "
                f"{run.prefix} (manifest sha256 {run.manifest_sha256})."
            )
            if release:
                run = archive_release(run=run, actor=actor)
                self.stdout.write(f"Archive run {run.pk}: online rows released.")
        except (ArchiveRefused, ArchiveTampered) as error:
            raise CommandError(str(error)) from None
