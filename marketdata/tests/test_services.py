"""Instrument and bar imports: all-or-nothing, line-numbered errors, idempotent re-runs."""

from datetime import datetime, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.db import DatabaseError

from marketdata.calendar import IST
from marketdata.importers import BarRow, InstrumentRow, parse_bars, parse_index_constituents
from marketdata.management.commands.import_instruments import NIFTY_50_FILE
from marketdata.models import Bar, IndexMembership, Instrument
from marketdata.services import (
    BarImportError,
    bars_import,
    cache_warm,
    history_generate,
    instruments_import,
)

pytestmark = pytest.mark.django_db
DAY = datetime(2026, 11, 20, 9, 15, tzinfo=IST)


def nifty_rows() -> list[InstrumentRow]:
    return parse_index_constituents(NIFTY_50_FILE.read_text()).rows


def test_nifty50_import_creates_then_changes_nothing():
    first = instruments_import(rows=nifty_rows(), index="NIFTY 50")
    assert (first["created"], first["index_members"]) == (50, 50)
    second = instruments_import(rows=nifty_rows(), index="NIFTY 50")
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, 50)
    reliance = Instrument.objects.get(tradingsymbol="RELIANCE")
    assert (reliance.isin, reliance.sector) == ("INE002A01018", "Oil Gas & Consumable Fuels")


def test_index_membership_follows_the_latest_list():
    rows = nifty_rows()
    instruments_import(rows=rows, index="NIFTY 50")
    instruments_import(rows=rows[:-1], index="NIFTY 50")
    assert IndexMembership.objects.filter(index="NIFTY 50").count() == 49
    assert Instrument.objects.filter(
        tradingsymbol=rows[-1].tradingsymbol
    ).exists()  # kept, not deleted


def test_instrument_import_is_all_or_nothing():
    # The instruments are written, then the index step fails: the instruments must go too.
    failing = mock.patch.object(
        IndexMembership.objects, "bulk_create", side_effect=DatabaseError("disk full")
    )
    with failing, pytest.raises(DatabaseError):
        instruments_import(rows=nifty_rows(), index="NIFTY 50")
    assert Instrument.objects.count() == 0


def bar(line, symbol="INFY", minute=0, price="1500.00", volume=100, isin=None, day=DAY) -> BarRow:
    p = Decimal(price)
    return BarRow(
        line, symbol, "EQ", isin, day + timedelta(minutes=minute), p, p + 1, p - 1, p, volume
    )


def test_unknown_symbols_and_wrong_isins_are_errors_and_nothing_is_written(instruments):
    rows = [bar(2), bar(3, symbol="NOSUCH"), bar(4, symbol="TCS", isin="INE009A01021")]
    with pytest.raises(BarImportError) as caught:
        bars_import(rows=rows, interval="1m")
    messages = [str(e) for e in caught.value.errors]
    assert messages == [
        "line 3: unknown instrument NSE:NOSUCH",
        "line 4: ISIN INE009A01021 does not match NSE:TCS's INE467B01029",
    ]
    assert Bar.objects.count() == 0


def test_unknown_symbols_can_be_skipped(instruments):
    report = bars_import(rows=[bar(2), bar(3, symbol="NOSUCH")], interval="1d", skip_unknown=True)
    assert (report["bars"], report["skipped"]) == (1, 1)


def test_reimport_overwrites_without_duplicates(instruments):
    bars_import(rows=[bar(2, price="1500.00"), bar(3, minute=1)], interval="1m")
    bars_import(rows=[bar(2, price="1510.00"), bar(3, minute=1)], interval="1m")
    minutes = Bar.objects.filter(interval="1m")
    assert minutes.count() == 2
    assert minutes.get(start=DAY).close == Decimal("1510.00")


def test_minute_import_builds_the_higher_intervals(instruments):
    rows = [bar(i + 2, minute=i, price=f"{1500 + i}.00", volume=10) for i in range(75)]
    report = bars_import(rows=rows, interval="1m")
    assert report["bars"] == 75
    five = Bar.objects.filter(interval="5m").order_by("start")
    assert five.count() == 15
    assert (five[0].open, five[0].high, five[0].low, five[0].close) == (
        Decimal("1500.00"), Decimal("1505.00"), Decimal("1499.00"), Decimal("1504.00"),
    )  # fmt: skip
    hours = Bar.objects.filter(interval="1h").order_by("start")
    assert [(h.start, h.volume) for h in hours] == [(DAY, 600), (DAY + timedelta(hours=1), 150)]
    daily = Bar.objects.get(interval="1d")
    assert (daily.open, daily.close, daily.high, daily.volume) == (
        Decimal("1500.00"), Decimal("1574.00"), Decimal("1575.00"), 750,
    )  # fmt: skip


def test_bhavcopy_import_end_to_end(instruments):
    text = (
        "SYMBOL,SERIES,OPEN,HIGH,LOW,CLOSE,LAST,PREVCLOSE,TOTTRDQTY,TOTTRDVAL,TIMESTAMP,TOTALTRADES,ISIN,\n"
        "INFY,EQ,1500,1520.5,1490,1510.25,1510,1498.6,5000000,7550000000,20-NOV-2026,120000,INE009A01021,\n"
        "TCS,EQ,3600,3650,3590,3640,3641,3601.1,2000000,7280000000,20-NOV-2026,90000,INE467B01029,\n"
        "INFY,BL,1500,1500,1500,1500,1500,1498.6,100,150000,20-NOV-2026,1,INE009A01021,\n"
    )
    parsed = parse_bars(text, interval="1d")
    assert parsed.ok
    assert parsed.skipped == 1
    bars_import(rows=parsed.rows, interval="1d")
    infy = Bar.objects.get(instrument__tradingsymbol="INFY", interval="1d")
    assert (infy.start, infy.close, infy.volume) == (DAY, Decimal("1510.25"), 5_000_000)


def test_history_generation_covers_sessions_and_reruns_cleanly(instruments):
    report = history_generate(days=2, end=DAY.date(), keys=["NSE:INFY", "NSE:TCS"])
    assert report == {
        "sessions": 2, "instruments": 2, "bars": 2 * 2 * (375 + 75 + 25 + 7 + 1),
        "first": "2026-11-19", "last": "2026-11-20",
    }  # fmt: skip
    again = history_generate(days=2, end=DAY.date(), keys=["NSE:INFY", "NSE:TCS"])
    assert again["bars"] == report["bars"]
    assert Bar.objects.count() == report["bars"]
    assert Bar.objects.filter(interval="1d", start=DAY).count() == 2


def test_history_uses_exchange_hours_even_on_the_demo_clock(instruments, settings):
    settings.MARKETDATA_ALWAYS_OPEN = True
    history_generate(days=1, end=DAY.date(), keys=["NSE:INFY"])
    assert Bar.objects.filter(interval="1m").count() == 375


@pytest.mark.parametrize("days", [0, -1, 5000])
def test_history_refuses_absurd_lengths(instruments, days):
    with pytest.raises(ValueError, match="days must be between 1 and 3660"):
        history_generate(days=days)


def test_cache_warm_fetches_the_index_in_batches(instruments):
    from marketdata.pricecache import quotes_cached

    report = cache_warm(batch=3)
    assert (report["requested"], report["warmed"], report["batches"], report["unknown"]) == (
        4,
        4,
        2,
        0,
    )
    assert set(quotes_cached(["NSE:INFY", "NSE:TCS", "NSE:HDFCBANK", "NSE:SBIN"])) == {
        "NSE:INFY", "NSE:TCS", "NSE:HDFCBANK", "NSE:SBIN",
    }  # fmt: skip
