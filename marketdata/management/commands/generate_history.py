"""Generate N sessions of synthetic 1-minute bars (and 5m, 15m, 1h, 1d) for instruments, or
with --daily-only only their day bars (a long history for daily backtests)."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from marketdata.selectors import normalise_keys
from marketdata.services import history_generate
from ops.progress import job_progress


class Command(BaseCommand):
    help = (
        "Generate synthetic history for active instruments (or --symbols) up to the last session."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=5, help="Number of sessions (1-3660)")
        parser.add_argument(
            "--symbols", nargs="*", help="Keys such as NSE:INFY (default: all active)"
        )
        parser.add_argument("--end", type=date.fromisoformat, help="Last session, YYYY-MM-DD")
        parser.add_argument(
            "--daily-only", action="store_true", help="Only the sessions' 1d bars, no minutes"
        )

    def handle(self, *args, days, symbols=None, end=None, daily_only=False, **options):
        keys = normalise_keys(symbols) if symbols else None
        try:
            with job_progress(
                "marketdata.generate_history",
                f"{days} sessions",
                unit="instrument-days",
            ) as job:
                report = history_generate(
                    days=days, end=end, keys=keys, job=job, daily_only=daily_only
                )
                job.finish(result=report)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Synthetic history: {report}"))
