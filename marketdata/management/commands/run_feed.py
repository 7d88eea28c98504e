"""Run the live feed: publish quotes for every active instrument once a second in session."""

from django.core.management.base import BaseCommand

from marketdata import calendar
from marketdata.feed import feed_run


class Command(BaseCommand):
    help = "Publish quotes every second while the market is open (Ctrl-C stops)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between ticks")
        parser.add_argument("--ticks", type=int, help="Stop after this many ticks")

    def handle(self, *args, interval, ticks=None, **options):
        status = calendar.market_status()
        self.stdout.write(
            f"Feed starting; market: {status['session']}. {status.get('note', '')}".strip()
        )
        try:
            done = feed_run(interval=interval, ticks=ticks, report=self.stdout.write)
        except KeyboardInterrupt:
            return
        self.stdout.write(self.style.SUCCESS(f"Feed stopped after {done} ticks."))
