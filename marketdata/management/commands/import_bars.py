"""Import OHLCV bars from a generic CSV or an NSE bhavcopy (classic or UDiFF)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from marketdata.choices import Interval
from marketdata.importers import ImportFormatError, parse_bars
from marketdata.services import BarImportError, bars_import
from ops.progress import job_progress


class Command(BaseCommand):
    help = (
        "Import bars. The format (generic OHLCV, bhavcopy CM, bhavcopy UDiFF) is detected from the "
        "header. The whole file is checked first: any bad row is reported with its line number and "
        "nothing is written. Re-running an import overwrites, never duplicates."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file")
        parser.add_argument("--interval", choices=Interval.values, default="1d")
        parser.add_argument("--symbol", help="The symbol, for a file without a symbol column")
        parser.add_argument(
            "--skip-unknown", action="store_true", help="Skip symbols not in the master"
        )

    def handle(self, *args, file, interval, symbol=None, skip_unknown=False, **options):
        name = Path(file).name
        try:
            text = Path(file).read_text(encoding="utf-8-sig")
            parsed = parse_bars(text, interval=interval, symbol=symbol)
        except (OSError, UnicodeDecodeError, ImportFormatError, ValueError) as exc:
            raise CommandError(f"{file}: {exc}") from exc
        if parsed.errors:
            for error in parsed.errors:
                self.stderr.write(f"{name}: {error}")
            raise CommandError(f"{name}: {len(parsed.errors)} bad row(s); nothing was imported.")
        try:
            with job_progress("marketdata.import_bars", name, unit="bars") as job:
                report = bars_import(
                    rows=parsed.rows, interval=interval, skip_unknown=skip_unknown, job=job
                )
                report["filtered"] = parsed.skipped
                job.finish(result=report)
        except BarImportError as exc:
            for error in exc.errors:
                self.stderr.write(f"{name}: {error}")
            raise CommandError(
                f"{name}: {len(exc.errors)} row(s) rejected; nothing was imported."
            ) from exc
        self.stdout.write(self.style.SUCCESS(f"{name}: {report}"))
