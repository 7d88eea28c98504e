"""Demo data of the market-data app: the NIFTY 50 and a few sessions of synthetic history."""

from django.conf import settings

from marketdata.importers import parse_index_constituents
from marketdata.management.commands.import_instruments import NIFTY_50_FILE
from marketdata.models import Bar
from marketdata.selectors import NIFTY_50
from marketdata.services import history_generate, instruments_import


def seed(*, stdout, reset_passwords: bool = False) -> None:
    parsed = parse_index_constituents(NIFTY_50_FILE.read_text(encoding="utf-8"))
    report = instruments_import(rows=parsed.rows, index=NIFTY_50)
    stdout.write(
        f"NIFTY 50 instruments: {report['created']} created, {report['unchanged']} unchanged."
    )
    if Bar.objects.exists():
        stdout.write(
            "Bars: already present (python manage.py generate_history --days N adds more)."
        )
        return
    history = history_generate(days=settings.MARKETDATA_DEMO_HISTORY_SESSIONS)
    stdout.write(
        f"Bars: {history['bars']} synthetic bars for {history['instruments']} instruments, "
        f"sessions {history['first']} to {history['last']}."
    )
