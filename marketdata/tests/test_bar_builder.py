"""The feed's one-minute bars: each minute's open, high, low, close and the volume traded in
it, written when the clock passes into the next minute (or the market closes) and
announced once; a restarted feed rewrites its minute."""

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from marketdata.bar_builder import MinuteBars, bars_closed
from marketdata.calendar import IST
from marketdata.feed import feed_tick
from marketdata.models import Bar, Instrument
from marketdata.pricecache import quote_get

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 12, 3, 10, 15, 0, tzinfo=IST)


@pytest.fixture
def announced():
    seen = []

    def hook(sender, start, instrument_ids, **kwargs):
        seen.append((start, instrument_ids))

    bars_closed.connect(hook)
    yield seen
    bars_closed.disconnect(hook)


def ticks(quote, prices_volumes):
    return [replace(quote, last_price=Decimal(p), volume=v) for p, v in prices_volumes]


def test_a_minute_of_ticks_becomes_one_bar_when_the_next_minute_starts(instruments, announced):
    infy = Instrument.objects.get(tradingsymbol="INFY")
    base = quote_get("NSE:INFY")
    ids = {"NSE:INFY": infy.pk}
    builder = MinuteBars()
    seconds = [0, 10, 25, 59]
    for second, tick in zip(
        seconds,
        ticks(base, [("1400.00", 1000), ("1404.50", 1200), ("1398.10", 1500), ("1401.00", 1800)]),
        strict=True,
    ):
        assert builder.add({"NSE:INFY": tick}, ids, T0 + timedelta(seconds=second)) == 0
    assert not Bar.objects.exists()  # the minute is still open

    (next_tick,) = ticks(base, [("1402.00", 1900)])
    assert builder.add({"NSE:INFY": next_tick}, ids, T0 + timedelta(seconds=61)) == 1
    bar = Bar.objects.get(instrument=infy, interval="1m", start=T0)
    assert (bar.open, bar.high, bar.low, bar.close) == tuple(
        Decimal(p) for p in ("1400.00", "1404.50", "1398.10", "1401.00")
    )
    assert bar.volume == 800  # from its first tick's day volume: 1800 - 1000
    assert announced == [(T0, [infy.pk])]

    assert builder.close_due(T0 + timedelta(minutes=2, seconds=1)) == 1  # the market closed
    second = Bar.objects.get(instrument=infy, interval="1m", start=T0 + timedelta(minutes=1))
    assert (second.open, second.close, second.volume) == (
        Decimal("1402.00"),
        Decimal("1402.00"),
        100,
    )
    assert builder.close_due(T0 + timedelta(minutes=5)) == 0  # nothing open: nothing announced
    assert len(announced) == 2


def test_the_feed_tick_folds_every_instrument_into_the_minute(instruments, announced):
    builder = MinuteBars()
    feed_tick(at=T0, bars=builder)
    feed_tick(at=T0 + timedelta(seconds=30), bars=builder)
    assert builder.close_due(T0 + timedelta(minutes=1)) == 4
    assert Bar.objects.filter(interval="1m", start=T0).count() == 4
    assert len(announced[0][1]) == 4


def test_a_restarted_feed_rewrites_its_minute(instruments):
    infy = Instrument.objects.get(tradingsymbol="INFY")
    base = quote_get("NSE:INFY")
    for price in ("1400.00", "1411.00"):
        builder = MinuteBars()
        builder.add({"NSE:INFY": ticks(base, [(price, 10)])[0]}, {"NSE:INFY": infy.pk}, T0)
        builder.close_due(T0 + timedelta(minutes=1))
    bar = Bar.objects.get(instrument=infy, interval="1m", start=T0)
    assert bar.close == Decimal("1411.00")
