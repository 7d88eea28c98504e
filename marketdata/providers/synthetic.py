"""A synthetic NSE market: deterministic under a seed, realistic enough to trade against.

The model, all of it a pure function of (seed, instrument, time), so every process
computes the same quote for the same second without sharing any state:

- **Daily closes** follow geometric Brownian motion over calendar days with each
  instrument's annual volatility, anchored so that prices sit near the instrument's
  reference level on 1 January 2026. Daily shocks are correlated within a sector
  (a shared sector factor with weight ``SECTOR_CORRELATION``).
- **Within a session**, the log price follows a Brownian bridge from the open
  (previous close plus an overnight gap) to that day's close, at one-second steps,
  again with a shared sector factor.
- **Volume** follows an intraday U-shape (busy at the open and close) with noise.
- **Quotes** sit on the tick grid; the spread is one or two ticks, and the last
  price lies between bid and ask.

The simulation runs in floating point; every price leaves it rounded to the
instrument's tick and as an exact ``Decimal``.
"""

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from hashlib import blake2b
from pathlib import Path

import numpy as np
from django.conf import settings
from django.utils import timezone

from marketdata import calendar
from marketdata.quotes import DEPTH_LEVELS, OHLCV, DepthLevel, Quote
from marketdata.resample import SessionBars, resample
from marketdata.selectors import InstrumentSpec, instrument_specs

SEED_FILE = Path(__file__).resolve().parents[1] / "data" / "nifty50.csv"
EPOCH = date(2020, 1, 1)
ANCHOR = date(2026, 1, 1)
SECTOR_CORRELATION = 0.5
OVERNIGHT_SHARE = 0.2  # of a day's variance that arrives as the opening gap
DAILY_TURNOVER_RUPEES = 2_000_000_000  # order of magnitude of a NIFTY stock's daily value traded
BOOK_DEPTH_RUPEES = 500_000  # typical value resting at the touch
PAISA = Decimal("0.01")


def stable_hash(text: str) -> int:
    """A hash that is the same in every process (Python's hash() is salted)."""
    return int.from_bytes(blake2b(text.encode(), digest_size=8).digest(), "big")


@dataclass(frozen=True)
class Params:
    reference_price: float
    annual_volatility: float


@lru_cache(maxsize=1)
def _seed_params() -> dict[str, Params]:
    with SEED_FILE.open(newline="") as handle:
        return {
            f"NSE:{row['symbol']}": Params(
                float(row["reference_price"]), float(row["annual_volatility"])
            )
            for row in csv.DictReader(handle)
        }


def params_for(key: str) -> Params:
    """Seed-file parameters, or stable made-up ones for instruments outside the seed file."""
    known = _seed_params().get(key)
    if known:
        return known
    h = stable_hash(key)
    return Params(reference_price=50 + h % 4950, annual_volatility=0.2 + (h >> 16) % 25 / 100)


def _rng(*parts: int) -> np.random.Generator:
    return np.random.default_rng([settings.MARKETDATA_SYNTHETIC_SEED, *parts])


def _days_in_year(year: int) -> int:
    return (date(year + 1, 1, 1) - date(year, 1, 1)).days


@lru_cache(maxsize=4096)
def _yearly_increments(key: str, sector: str, year: int) -> np.ndarray:
    """Daily log-price increments of one calendar year (one per day, weekends included)."""
    n = _days_in_year(year)
    sigma = params_for(key).annual_volatility / math.sqrt(365)
    common = _rng(stable_hash(sector), year, 1).standard_normal(n)
    own = _rng(stable_hash(key), year, 2).standard_normal(n)
    shocks = math.sqrt(SECTOR_CORRELATION) * common + math.sqrt(1 - SECTOR_CORRELATION) * own
    return sigma * shocks - 0.5 * sigma**2


@lru_cache(maxsize=4096)
def _level_at_year_start(key: str, sector: str, year: int) -> float:
    """Cumulative log increment from EPOCH to 1 January of ``year``."""
    return sum(float(_yearly_increments(key, sector, y).sum()) for y in range(EPOCH.year, year))


def log_close(key: str, sector: str, day: date) -> float:
    """Log of the synthetic close on ``day`` (any calendar day on or after EPOCH)."""
    if day < EPOCH:
        raise ValueError(f"the synthetic market starts on {EPOCH}")

    def cumulative(d: date) -> float:
        inc = _yearly_increments(key, sector, d.year)
        return _level_at_year_start(key, sector, d.year) + float(inc[: d.timetuple().tm_yday].sum())

    return math.log(params_for(key).reference_price) + cumulative(day) - cumulative(ANCHOR)


@dataclass(frozen=True)
class SessionPath:
    start: datetime
    price: np.ndarray  # rupees, float64, one point per second from open to close (inclusive)
    minute_volume: np.ndarray  # int64, one per minute

    @property
    def seconds(self) -> int:
        return len(self.price) - 1


@lru_cache(maxsize=256)
def session_path(key: str, sector: str, day: date, start: datetime, end: datetime) -> SessionPath:
    """The second-by-second price path of one session, bridged from open to close."""
    seconds = int((end - start).total_seconds())
    sigma_day = params_for(key).annual_volatility / math.sqrt(365)
    ordinal = day.toordinal()
    close = log_close(key, sector, day)
    gap = (
        _rng(stable_hash(key), ordinal, 3).standard_normal()
        * sigma_day
        * math.sqrt(OVERNIGHT_SHARE)
    )
    open_ = log_close(key, sector, day - timedelta(days=1)) + gap
    step = sigma_day * math.sqrt((1 - OVERNIGHT_SHARE) / seconds)
    common = _rng(stable_hash(sector), ordinal, 4).standard_normal(seconds)
    own = _rng(stable_hash(key), ordinal, 5).standard_normal(seconds)
    walk = np.concatenate(
        [
            [0.0],
            np.cumsum(
                math.sqrt(SECTOR_CORRELATION) * common + math.sqrt(1 - SECTOR_CORRELATION) * own
            ),
        ]
    )
    walk *= step
    t = np.linspace(0.0, 1.0, seconds + 1)
    log_price = open_ + (close - open_) * t + walk - t * walk[-1]

    minutes = seconds // 60
    u = (np.arange(minutes) + 0.5) / minutes
    profile = 1 + 3 * (2 * u - 1) ** 2  # U-shape: three to four times busier at the edges
    noise = _rng(stable_hash(key), ordinal, 7).lognormal(0.0, 0.35, minutes)
    shares_per_day = DAILY_TURNOVER_RUPEES / params_for(key).reference_price
    minute_volume = (shares_per_day * profile / profile.sum() * noise).astype(np.int64)
    return SessionPath(start=start, price=np.exp(log_price), minute_volume=minute_volume)


def to_ticks(price: float | np.ndarray, tick: Decimal):
    """Round rupee prices to a whole number of ticks (an int, or an int64 array)."""
    return np.rint(np.asarray(price) / float(tick)).astype(np.int64)


class SyntheticProvider:
    """The default provider: a simulated market for every active instrument."""

    name = "synthetic"

    def quotes(self, keys: Sequence[str], *, at: datetime | None = None) -> dict[str, Quote]:
        moment = at or timezone.now()
        return {key: self._quote(spec, moment) for key, spec in instrument_specs(keys).items()}

    def bars(self, key: str, interval: str, start: datetime, end: datetime) -> list[OHLCV]:
        spec = instrument_specs([key]).get(key)
        if spec is None:
            return []
        first = timezone.localtime(start, calendar.IST).date()
        last = timezone.localtime(end, calendar.IST).date()
        found = []
        for day in calendar.trading_days(first, last):
            open_at = calendar.session_bounds(day)[0]
            bars = self.session_minute_bars(spec, day)
            if interval != "1m":
                bars = resample(bars, interval)
            paise = PAISA
            for i in range(len(bars)):
                bar_start = open_at + timedelta(minutes=int(bars.offset[i]))
                if start <= bar_start < end:
                    found.append(
                        OHLCV(
                            start=bar_start,
                            open=int(bars.open[i]) * paise,
                            high=int(bars.high[i]) * paise,
                            low=int(bars.low[i]) * paise,
                            close=int(bars.close[i]) * paise,
                            volume=int(bars.volume[i]),
                        )
                    )
        return found

    def session_minute_bars(self, spec: InstrumentSpec, day: date) -> SessionBars:
        """1-minute bars of one session, prices in integer paise on the tick grid."""
        start, end = calendar.session_bounds(day)
        path = session_path(spec.key, spec.sector, day, start, end)
        minutes = len(path.minute_volume)
        ticks = to_ticks(path.price, spec.tick_size)
        windows = np.lib.stride_tricks.sliding_window_view(ticks, 61)[::60][:minutes]
        paise_per_tick = int(spec.tick_size * 100)
        return SessionBars(
            offset=np.arange(minutes, dtype=np.int64),
            open=windows[:, 0] * paise_per_tick,
            high=windows.max(axis=1) * paise_per_tick,
            low=windows.min(axis=1) * paise_per_tick,
            close=windows[:, -1] * paise_per_tick,
            volume=path.minute_volume,
        )

    def _quote(self, spec: InstrumentSpec, moment: datetime) -> Quote:
        if calendar.is_open(moment):
            day = timezone.localtime(moment, calendar.IST).date()
        else:
            day = calendar.last_session_day(moment)
        start, end = calendar.session_bounds(day)
        path = session_path(spec.key, spec.sector, day, start, end)
        second = min(max(int((moment - start).total_seconds()), 0), path.seconds)
        tick = spec.tick_size
        so_far = to_ticks(path.price[: second + 1], tick)
        last = int(so_far[-1])
        rng = _rng(stable_hash(spec.key), day.toordinal(), second, 6)
        spread = 1 + int(rng.random() < 0.35)
        bid = last - int(rng.integers(0, spread + 1))
        depth = max(1, int(BOOK_DEPTH_RUPEES / path.price[second]))
        bid_qty, ask_qty = (
            spec.lot_size * max(1, int(q)) for q in rng.lognormal(math.log(depth), 0.6, 2)
        )
        whole_minutes, part = divmod(second, 60)
        volume = int(path.minute_volume[:whole_minutes].sum())
        if whole_minutes < len(path.minute_volume):
            volume += int(path.minute_volume[whole_minutes] * part / 60)
        prev_day = calendar.previous_trading_day(day)
        prev_close = int(to_ticks(math.exp(log_close(spec.key, spec.sector, prev_day)), tick))

        def rupees(ticks: int) -> Decimal:
            return (ticks * tick).quantize(PAISA)

        bids, asks = _book(rng, spec.lot_size, (bid, bid_qty), (bid + spread, ask_qty), depth)
        return Quote(
            instrument=spec.key,
            last_price=rupees(last),
            bid=rupees(bid),
            bid_quantity=bid_qty,
            ask=rupees(bid + spread),
            ask_quantity=ask_qty,
            open=rupees(int(so_far[0])),
            high=rupees(int(so_far.max())),
            low=rupees(int(so_far.min())),
            prev_close=rupees(prev_close),
            volume=volume,
            timestamp=start + timedelta(seconds=second),
            bids=tuple(DepthLevel(rupees(p), q, n) for p, q, n in bids),
            asks=tuple(DepthLevel(rupees(p), q, n) for p, q, n in asks),
        )


def _book(
    rng: np.random.Generator, lot: int, best_bid: tuple, best_ask: tuple, depth: int
) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
    """DEPTH_LEVELS levels a side, in ticks: the touch as quoted, then levels one or two
    ticks apart, each with a lot-rounded quantity and the orders making it up (drawn in one
    go from the quote's stream after the touch, so the touch is the same as before)."""
    deeper = DEPTH_LEVELS - 1
    gaps = rng.integers(1, 3, size=(2, deeper)).cumsum(axis=1).tolist()
    lots = np.maximum(1, rng.lognormal(math.log(depth), 0.7, size=(2, deeper)).astype(np.int64))
    orders = rng.integers(1, 40, size=(2, DEPTH_LEVELS)).tolist()
    sides = []
    for side, ((price, quantity), away) in enumerate(((best_bid, -1), (best_ask, 1))):
        prices = [price] + [price + away * gap for gap in gaps[side]]
        quantities = [quantity] + [lot * int(n) for n in lots[side]]
        sides.append([
            (p, q, max(1, min(q // lot, n)))
            for p, q, n in zip(prices, quantities, orders[side], strict=True) if p >= 1
        ])  # fmt: skip
    return sides[0], sides[1]
