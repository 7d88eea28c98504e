"""Import a sanctions or PEP list file as the list's next version (AML screening)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from compliance.screening.importers import ListFileRefused
from compliance.screening.services import ListAlreadyImported, screening_list_import


class Command(BaseCommand):
    help = (
        "Import a list: --list un (the UN Security Council consolidated list, XML) or --list "
        "pep (CSV: reference,name,aliases,date_of_birth,nationality,position). The whole file "
        "is checked first: a malformed, truncated or bad file is refused with its line or "
        "element numbers and nothing is stored. Every client is then screened against the "
        "new version by a Celery task."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--list", dest="list_code", choices=["un", "pep"], required=True)
        parser.add_argument("file")

    def handle(self, *args, list_code: str, file: str, **options) -> None:
        path = Path(file)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{file}: {exc}") from exc
        try:
            version = screening_list_import(list_code=list_code, data=data, source=path.name)
        except ListFileRefused as refused:
            for problem in refused.problems:
                self.stderr.write(f"{path.name}: {problem}")
            raise CommandError(
                f"{path.name}: refused, {len(refused.problems)} problem(s); nothing was imported."
            ) from refused
        except ListAlreadyImported as twin:
            raise CommandError(twin.detail) from twin
        self.stdout.write(
            self.style.SUCCESS(
                f"{version}: {version.entry_count} entries from {version.source} "
                f"(sha256 {version.sha256}); rescreening of every client queued."
            )
        )
