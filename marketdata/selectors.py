"""Reads of the market-data app that other code shares."""

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from threading import Lock

from django.db.models import Avg, Q, QuerySet

from marketdata.choices import Interval
from marketdata.models import Bar, IndexMembership, Instrument

NIFTY_50 = "NIFTY 50"
SPEC_TTL_SECONDS = 60.0


class UnknownInstrument(LookupError):
    def __init__(self, keys: Iterable[str]) -> None:
        self.keys = sorted(keys)
        super().__init__(f"unknown instrument(s): {', '.join(self.keys)}")


@dataclass(frozen=True, slots=True)
class InstrumentSpec:
    """What the market-data machinery needs of an instrument, without a query."""

    key: str
    id: int
    tradingsymbol: str
    sector: str
    tick_size: Decimal
    lot_size: int


def split_key(key: str) -> tuple[str, str]:
    """``"NSE:INFY"`` -> ``("NSE", "INFY")``; a bare symbol means NSE."""
    exchange, _, symbol = key.strip().upper().rpartition(":")
    return exchange or "NSE", symbol


class _SpecCache:
    """Instrument specs of every active instrument, reloaded at most once a minute per process."""

    def __init__(self) -> None:
        self._lock = Lock()
        self._specs: dict[str, InstrumentSpec] = {}
        self._loaded_at = float("-inf")

    def get(self) -> dict[str, InstrumentSpec]:
        with self._lock:
            if time.monotonic() - self._loaded_at > SPEC_TTL_SECONDS:
                self._specs = {
                    spec.key: spec
                    for spec in (
                        InstrumentSpec(
                            key=f"{i.exchange}:{i.tradingsymbol}",
                            id=i.id,
                            tradingsymbol=i.tradingsymbol,
                            sector=i.sector,
                            tick_size=i.tick_size,
                            lot_size=i.lot_size,
                        )
                        for i in Instrument.objects.filter(is_active=True).only(
                            "id", "exchange", "tradingsymbol", "sector", "tick_size", "lot_size"
                        )
                    )
                }
                self._loaded_at = time.monotonic()
            return self._specs

    def clear(self) -> None:
        with self._lock:
            self._loaded_at = float("-inf")


instrument_specs_cache = _SpecCache()


def instrument_specs(keys: Iterable[str] | None = None) -> dict[str, InstrumentSpec]:
    """Specs of active instruments by key (all of them when ``keys`` is None)."""
    specs = instrument_specs_cache.get()
    if keys is None:
        return dict(specs)
    return {key: specs[key] for key in keys if key in specs}


def normalise_keys(keys: Iterable[str]) -> list[str]:
    """Upper-case ``EXCHANGE:SYMBOL`` keys, in order, without repeats."""
    seen: dict[str, None] = {}
    for key in keys:
        exchange, symbol = split_key(key)
        seen[f"{exchange}:{symbol}"] = None
    return list(seen)


def instrument_get(key: str) -> Instrument:
    exchange, symbol = split_key(key)
    try:
        return Instrument.objects.get(exchange=exchange, tradingsymbol=symbol)
    except Instrument.DoesNotExist:
        raise UnknownInstrument([f"{exchange}:{symbol}"]) from None


def instrument_search(
    query: str = "", *, sector: str = "", index: str = ""
) -> QuerySet[Instrument]:
    found = Instrument.objects.filter(is_active=True)
    if query:
        found = found.filter(
            Q(tradingsymbol__istartswith=query) | Q(name__icontains=query) | Q(isin__iexact=query)
        )
    if sector:
        found = found.filter(sector__iexact=sector)
    if index:
        found = found.filter(indices__index__iexact=index)
    return found.order_by("tradingsymbol")


def index_member_keys(index: str = NIFTY_50) -> list[str]:
    return [
        f"{exchange}:{symbol}"
        for exchange, symbol in IndexMembership.objects.filter(
            index=index, instrument__is_active=True
        ).values_list("instrument__exchange", "instrument__tradingsymbol")
    ]


def bars_between(
    *, instrument: Instrument, interval: str, start: datetime, end: datetime
) -> QuerySet[Bar]:
    return Bar.objects.filter(
        instrument=instrument, interval=interval, start__gte=start, start__lt=end
    ).order_by("start")


@dataclass(frozen=True, slots=True)
class Liquidity:
    """How liquid an instrument is over a period: its exchange surveillance stages (ASM,
    GSM; "" when none) and the market's average daily volume in shares (the mean of its
    day bars' volumes; None when marketdata has no day bar in the period)."""

    asm_stage: str
    gsm_stage: str
    average_daily_volume: Decimal | None


def instruments_liquidity(
    *, instrument_ids: Iterable[int], start: datetime, end: datetime
) -> dict[int, Liquidity]:
    """Per instrument, its :class:`Liquidity` over ``start`` to before ``end``."""
    ids = sorted(set(instrument_ids))
    volumes = dict(
        Bar.objects.filter(
            instrument_id__in=ids, interval=Interval.DAY, start__gte=start, start__lt=end
        )
        .values("instrument_id")
        .annotate(average=Avg("volume"))
        .values_list("instrument_id", "average")
    )
    return {
        pk: Liquidity(
            asm_stage=asm,
            gsm_stage=gsm,
            average_daily_volume=None
            if volumes.get(pk) is None
            else Decimal(str(volumes[pk])).quantize(Decimal(1)),
        )
        for pk, asm, gsm in Instrument.objects.filter(pk__in=ids).values_list(
            "pk", "asm_stage", "gsm_stage"
        )
    }
