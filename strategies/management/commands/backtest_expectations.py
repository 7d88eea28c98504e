"""Compare the shipped backtests with their stored expectations, and refresh them on purpose.

    python manage.py backtest_expectations            # print the diff; fail if any
    python manage.py backtest_expectations --write    # print the diff, then store the results

Without ``--write`` nothing is written: a change of results is stored only when someone
asks for it, after reading the diff (docs/strategies.md, "Backtests in CI").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from strategies.shipped import (
    EXPECTED,
    SHIPPED,
    expectations_diff,
    expectations_read,
    expectations_write,
    shipped_missing,
    shipped_summaries,
)


class Command(BaseCommand):
    help = "Backtest every strategy on the shipped data and diff with the stored expectations."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--write", action="store_true", help="store the results as the new expectations"
        )
        parser.add_argument(
            "--file", type=Path, default=EXPECTED, help="the expectations file (JSON)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        missing = shipped_missing()
        if missing:
            raise CommandError(
                f"no shipped run for {', '.join(missing)}: add each to strategies.shipped.SHIPPED"
            )
        path: Path = options["file"]
        actual = shipped_summaries()
        lines = expectations_diff(expectations_read(path), actual)
        for line in lines:
            self.stdout.write(line)
        if not lines:
            self.stdout.write(self.style.SUCCESS(f"{len(SHIPPED)} backtests as expected ({path})"))
            return
        if not options["write"]:
            raise CommandError(
                f"{len(lines)} difference(s) from {path}; not written (pass --write to store them)"
            )
        expectations_write(actual, path)
        self.stdout.write(self.style.WARNING(f"wrote {len(SHIPPED)} expectations to {path}"))
