"""The synthetic market: deterministic, on the tick grid, consistent, realistic in shape."""

import itertools
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from marketdata import calendar
from marketdata.calendar import IST
from marketdata.providers import synthetic
from marketdata.providers.synthetic import SyntheticProvider, log_close
from marketdata.selectors import instrument_specs

pytestmark = pytest.mark.django_db
IN_SESSION = datetime(2026, 11, 20, 11, 0, 7, tzinfo=IST)


@pytest.fixture(autouse=True)
def _fresh_paths():
    for cached in (
        synthetic.session_path,
        synthetic._yearly_increments,
        synthetic._level_at_year_start,
    ):
        cached.cache_clear()


def test_same_seed_same_quote_other_seed_other_quote(instruments, settings):
    first = SyntheticProvider().quotes(["NSE:INFY"], at=IN_SESSION)["NSE:INFY"]
    again = SyntheticProvider().quotes(["NSE:INFY"], at=IN_SESSION)["NSE:INFY"]
    assert first == again
    settings.MARKETDATA_SYNTHETIC_SEED += 1
    for cached in (
        synthetic.session_path,
        synthetic._yearly_increments,
        synthetic._level_at_year_start,
    ):
        cached.cache_clear()
    other = SyntheticProvider().quotes(["NSE:INFY"], at=IN_SESSION)["NSE:INFY"]
    assert other.last_price != first.last_price


def test_quote_is_on_the_tick_grid_with_a_sane_book(instruments):
    tick = Decimal("0.05")
    for second in range(0, 600, 7):
        quote = SyntheticProvider().quotes(["NSE:TCS"], at=IN_SESSION + timedelta(seconds=second))[
            "NSE:TCS"
        ]
        for price in (
            quote.last_price,
            quote.bid,
            quote.ask,
            quote.open,
            quote.high,
            quote.low,
            quote.prev_close,
        ):
            assert price % tick == 0, price
            assert price == price.quantize(Decimal("0.01"))
        assert quote.bid <= quote.last_price <= quote.ask
        assert tick <= quote.ask - quote.bid <= 2 * tick
        assert quote.low <= quote.last_price <= quote.high
        assert quote.low <= quote.open <= quote.high
        assert quote.bid_quantity >= 1
        assert quote.ask_quantity >= 1


def test_the_book_has_five_levels_a_side_best_first_with_the_touch_on_top(instruments):
    tick, lot = Decimal("0.05"), instrument_specs(["NSE:TCS"])["NSE:TCS"].lot_size
    for second in range(0, 600, 11):
        quote = SyntheticProvider().quotes(["NSE:TCS"], at=IN_SESSION + timedelta(seconds=second))[
            "NSE:TCS"
        ]
        assert len(quote.bids) == len(quote.asks) == 5
        assert (quote.bids[0].price, quote.bids[0].quantity) == (quote.bid, quote.bid_quantity)
        assert (quote.asks[0].price, quote.asks[0].quantity) == (quote.ask, quote.ask_quantity)
        bids, asks = [x.price for x in quote.bids], [x.price for x in quote.asks]
        assert bids == sorted(bids, reverse=True)
        assert len(set(bids)) == 5
        assert asks == sorted(asks)
        assert len(set(asks)) == 5
        for level in quote.bids + quote.asks:
            assert level.price % tick == 0
            assert level.price > 0
            assert level.quantity % lot == 0
            assert level.quantity >= lot
            assert 1 <= level.orders <= level.quantity // lot


def test_quotes_move_and_volume_grows_within_the_session(instruments):
    provider = SyntheticProvider()
    quotes = [
        provider.quotes(["NSE:INFY"], at=IN_SESSION + timedelta(seconds=s))["NSE:INFY"]
        for s in range(120)
    ]
    assert len({q.last_price for q in quotes}) > 5
    assert [q.volume for q in quotes] == sorted(q.volume for q in quotes)
    assert quotes[-1].timestamp - quotes[0].timestamp == timedelta(seconds=119)


def test_unknown_keys_are_left_out(instruments):
    assert set(SyntheticProvider().quotes(["NSE:INFY", "NSE:NOSUCH"], at=IN_SESSION)) == {
        "NSE:INFY"
    }


def test_after_the_close_the_quote_is_the_days_close_bar(instruments):
    provider = SyntheticProvider()
    evening = datetime(2026, 11, 20, 19, 0, tzinfo=IST)
    quote = provider.quotes(["NSE:INFY"], at=evening)["NSE:INFY"]
    day_bar = provider.bars("NSE:INFY", "1d", datetime(2026, 11, 20, tzinfo=IST), evening)[0]
    assert (quote.open, quote.high, quote.low, quote.last_price) == (
        day_bar.open, day_bar.high, day_bar.low, day_bar.close,
    )  # fmt: skip
    assert quote.timestamp == datetime(2026, 11, 20, 15, 30, tzinfo=IST)


def test_prev_close_is_the_previous_sessions_close(instruments):
    provider = SyntheticProvider()
    monday = provider.quotes(["NSE:SBIN"], at=datetime(2026, 11, 23, 10, 0, tzinfo=IST))["NSE:SBIN"]
    friday = provider.bars(
        "NSE:SBIN", "1d", datetime(2026, 11, 20, tzinfo=IST), datetime(2026, 11, 21, tzinfo=IST)
    )[0]
    assert monday.prev_close == friday.close


def test_minute_bars_are_consistent_with_the_day_bar(instruments):
    provider = SyntheticProvider()
    day = datetime(2026, 11, 20, tzinfo=IST)
    minutes = provider.bars("NSE:TCS", "1m", day, day + timedelta(days=1))
    daily = provider.bars("NSE:TCS", "1d", day, day + timedelta(days=1))[0]
    assert len(minutes) == 375
    assert minutes[0].start == datetime(2026, 11, 20, 9, 15, tzinfo=IST)
    assert minutes[-1].start == datetime(2026, 11, 20, 15, 29, tzinfo=IST)
    assert max(m.high for m in minutes) == daily.high
    assert min(m.low for m in minutes) == daily.low
    assert (minutes[0].open, minutes[-1].close) == (daily.open, daily.close)
    assert sum(m.volume for m in minutes) == daily.volume
    # Each minute opens where the one before it closed: one continuous path.
    assert all(b.open == a.close for a, b in itertools.pairwise(minutes))


def test_no_bars_on_holidays_or_weekends(instruments):
    found = SyntheticProvider().bars(
        "NSE:INFY", "1d", datetime(2026, 1, 23, tzinfo=IST), datetime(2026, 1, 28, tzinfo=IST)
    )
    assert [b.start.date() for b in found] == [date(2026, 1, 23), date(2026, 1, 27)]


def test_intraday_volume_is_u_shaped(instruments):
    spec = instrument_specs(["NSE:INFY"])["NSE:INFY"]
    volumes = np.mean(
        [SyntheticProvider().session_minute_bars(spec, day).volume for day in calendar.trading_days(
            date(2026, 11, 2), date(2026, 11, 20))],
        axis=0,
    )  # fmt: skip
    first_half_hour, midday, last_half_hour = (
        volumes[:30].mean(),
        volumes[150:210].mean(),
        volumes[-30:].mean(),
    )
    assert first_half_hour > 2 * midday
    assert last_half_hour > 2 * midday


def test_daily_returns_are_correlated_within_a_sector(instruments):
    days = [date(2025, 1, 1) + timedelta(days=i) for i in range(400)]

    def returns(key: str, sector: str) -> np.ndarray:
        closes = np.array([log_close(key, sector, d) for d in days])
        return np.diff(closes)

    infy, tcs = (
        returns("NSE:INFY", "Information Technology"),
        returns("NSE:TCS", "Information Technology"),
    )
    sbin = returns("NSE:SBIN", "Financial Services")
    same_sector = np.corrcoef(infy, tcs)[0, 1]
    other_sector = np.corrcoef(infy, sbin)[0, 1]
    assert 0.3 < same_sector < 0.7  # SECTOR_CORRELATION is 0.5
    assert abs(other_sector) < 0.15


def test_prices_stay_near_their_reference_level(instruments):
    close = np.exp(log_close("NSE:INFY", "Information Technology", date(2026, 1, 1)))
    assert close == pytest.approx(1500, rel=1e-9)  # the anchor of the seed file
