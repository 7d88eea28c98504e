"""Warm the price cache with NIFTY 50 and the most-accessed instruments."""

from django.core.management.base import BaseCommand

from marketdata.selectors import normalise_keys
from marketdata.services import cache_warm
from ops.progress import job_progress


class Command(BaseCommand):
    help = "Fetch NIFTY 50 plus the most-accessed instruments (or --symbols) into the price cache."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--symbols", nargs="*", help="Keys such as NSE:INFY")
        parser.add_argument(
            "--top", type=int, default=50, help="How many most-accessed keys to add"
        )

    def handle(self, *args, symbols=None, top=50, **options):
        with job_progress("marketdata.warm_cache", "price cache", unit="quotes") as job:
            report = cache_warm(keys=normalise_keys(symbols) if symbols else None, top_accessed=top)
            job.advance(report["warmed"])
            job.finish(result=report)
        self.stdout.write(self.style.SUCCESS(f"Warmed: {report}"))
