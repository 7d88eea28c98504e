"""The feed publishes every active instrument each tick and calls the quote hook."""

from unittest import mock

import pytest

from marketdata import feed
from marketdata.feed import feed_run, feed_tick, quotes_published
from marketdata.pricecache import quotes_cached

pytestmark = pytest.mark.django_db


def test_a_tick_publishes_every_instrument_and_sends_the_hook(instruments):
    received = []

    def hook(sender, quotes, **kwargs):
        received.append(quotes)

    quotes_published.connect(hook)
    try:
        assert feed_tick() == 4
    finally:
        quotes_published.disconnect(hook)
    keys = {"NSE:INFY", "NSE:TCS", "NSE:HDFCBANK", "NSE:SBIN"}
    assert set(received[0]) == keys
    assert set(quotes_cached(keys)) == keys


def test_the_feed_ticks_while_open(instruments, settings):
    settings.MARKETDATA_ALWAYS_OPEN = True
    with mock.patch.object(feed.time, "sleep"):
        assert feed_run(ticks=3) == 3


def test_the_feed_idles_while_closed(instruments):
    lines = []
    with (
        mock.patch.object(feed.calendar, "is_open", return_value=False),
        mock.patch.object(feed.time, "sleep", side_effect=[None, KeyboardInterrupt]),
        pytest.raises(KeyboardInterrupt),
    ):
        feed_run(ticks=1, report=lines.append)
    assert lines[0].startswith("market closed; next open ")
    assert quotes_cached(["NSE:INFY"]) == {}
