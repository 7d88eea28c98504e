"""Import the instrument master from NSE's equity list or an index constituent list."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from marketdata.importers import ImportFormatError, parse_equity_list, parse_index_constituents
from marketdata.selectors import NIFTY_50
from marketdata.services import instruments_import
from ops.progress import job_progress

NIFTY_50_FILE = Path(__file__).resolve().parents[2] / "data" / "nifty50.csv"


class Command(BaseCommand):
    help = (
        "Import instruments from NSE's EQUITY_L.csv (--format equity-list) or an index list "
        "such as ind_nifty50list.csv (--format index --index 'NIFTY 50'). --nifty50 loads "
        "the bundled list."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", nargs="?", help="CSV file to import")
        parser.add_argument("--format", choices=["equity-list", "index"], default="equity-list")
        parser.add_argument("--index", help="With --format index: the index the file lists")
        parser.add_argument(
            "--nifty50", action="store_true", help="Import the bundled NIFTY 50 list"
        )

    def handle(self, *args, file=None, format="equity-list", index=None, nifty50=False, **options):
        if nifty50:
            file, format, index = str(NIFTY_50_FILE), "index", NIFTY_50
        if not file:
            raise CommandError("Give a CSV file, or --nifty50 for the bundled NIFTY 50 list.")
        if format == "index" and not index:
            raise CommandError("--format index needs --index, e.g. --index 'NIFTY 50'.")
        try:
            text = Path(file).read_text(encoding="utf-8-sig")
            parse = parse_index_constituents if format == "index" else parse_equity_list
            parsed = parse(text)
        except (OSError, UnicodeDecodeError, ImportFormatError) as exc:
            raise CommandError(f"{file}: {exc}") from exc
        if parsed.errors:
            for error in parsed.errors:
                self.stderr.write(f"{file}: {error}")
            raise CommandError(f"{file}: {len(parsed.errors)} bad row(s); nothing was imported.")
        with job_progress(
            "marketdata.import_instruments",
            Path(file).name,
            total=len(parsed.rows),
        ) as job:
            report = instruments_import(rows=parsed.rows, index=index)
            job.advance(len(parsed.rows))
            job.finish(result=report)
        self.stdout.write(self.style.SUCCESS(f"{Path(file).name}: {report}"))
