"""Demo data of the market-data app: the NIFTY 50 and a few sessions of synthetic history,
and a thinly traded stock for the compliance demos."""

from datetime import datetime, time

from django.conf import settings
from django.utils import timezone

from marketdata import calendar
from marketdata.importers import BarRow, InstrumentRow, parse_index_constituents
from marketdata.management.commands.import_instruments import NIFTY_50_FILE
from marketdata.models import Bar, Instrument
from marketdata.pricecache import quote_get_many
from marketdata.selectors import NIFTY_50
from marketdata.services import bars_import, history_generate, instruments_import


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
    daily = history_generate(days=settings.MARKETDATA_DEMO_DAILY_SESSIONS, daily_only=True)
    history = history_generate(days=settings.MARKETDATA_DEMO_HISTORY_SESSIONS)
    stdout.write(
        f"Bars: {history['bars']} synthetic bars for {history['instruments']} instruments, "
        f"sessions {history['first']} to {history['last']} (every interval); day bars from "
        f"{daily['first']} ({daily['sessions']} sessions, for daily backtests)."
    )


#: The demo's thinly traded stock: the compliance demos plant what only a thin market shows
#: (a client moving the close, most of the day's volume, concentration in illiquid stocks).
THIN = "DEMOTHIN"


def thin_instrument() -> Instrument:
    """DEMOTHIN (series BE), with three weeks of day bars of a few thousand shares a day
    before today and none today: the day's volume and close are our own book's."""
    row = InstrumentRow(line=1, tradingsymbol=THIN, name="Demo Thin Traders Ltd.", series="BE",
                        isin="")  # fmt: skip
    instruments_import(rows=[row])
    instrument = Instrument.objects.get(exchange="NSE", tradingsymbol=THIN)
    if Bar.objects.filter(instrument=instrument).exists():
        return instrument
    price = quote_get_many([instrument.key])[instrument.key].ask
    day, rows = timezone.localtime(timezone.now(), calendar.IST).date(), []
    for line in range(1, 16):
        day = calendar.previous_trading_day(day)
        start = datetime.combine(day, time(9, 15), calendar.IST)
        rows.append(BarRow(line=line, tradingsymbol=THIN, series="BE", isin=None, start=start,
                           open=price, high=price, low=price, close=price,
                           volume=3000 + 100 * line))  # fmt: skip
    bars_import(rows=rows, interval="1d")
    return instrument
