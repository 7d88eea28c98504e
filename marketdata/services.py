"""Writes of the market-data app: instrument master, bars, synthetic history, cache warming.

Bar imports are validated whole before anything is written (every bad row is reported
with its line number, and nothing is written). Writes then go in chunks of upserts on
the bar's primary key, so an interrupted import is finished by running it again,
without duplicates.
"""

import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
from django.db import close_old_connections, transaction
from django.utils import timezone

from marketdata import calendar
from marketdata.importers import BarRow, InstrumentRow, RowError
from marketdata.models import Bar, IndexMembership, Instrument
from marketdata.resample import SessionBars, resample
from marketdata.selectors import index_member_keys, instrument_specs, instrument_specs_cache

HIGHER_INTERVALS = ("5m", "15m", "1h", "1d")
UPSERT_BATCH = 5000
PAISA = Decimal("0.01")


class BarImportError(ValueError):
    """Rows that cannot be imported, each with its line number; nothing was written."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = list(errors)
        shown = "; ".join(str(e) for e in self.errors[:20])
        more = f" (and {len(self.errors) - 20} more)" if len(self.errors) > 20 else ""
        super().__init__(f"{len(self.errors)} row(s) cannot be imported: {shown}{more}")


# --- Instrument master -------------------------------------------------------------------


@transaction.atomic
def instruments_import(
    *, rows: Sequence[InstrumentRow], exchange: str = "NSE", index: str | None = None
) -> dict[str, int]:
    """Create or update instruments from parsed rows, all or nothing.

    With ``index``, the index's membership becomes exactly these rows.
    """
    symbols = [row.tradingsymbol for row in rows]
    existing = {
        i.tradingsymbol: i
        for i in Instrument.objects.select_for_update(of=("self",)).filter(
            exchange=exchange, tradingsymbol__in=symbols
        )
    }
    created, updated, unchanged = [], [], 0
    fields = ["name", "series", "isin", "lot_size", "face_value", "listing_date", "sector"]
    for row in rows:
        values = {
            "name": row.name,
            "series": row.series,
            "isin": row.isin,
            "lot_size": row.lot_size,
            "face_value": row.face_value,
            "listing_date": row.listing_date,
            "sector": row.sector,
        }
        current = existing.get(row.tradingsymbol)
        if current is None:
            created.append(Instrument(exchange=exchange, tradingsymbol=row.tradingsymbol, **values))
            continue
        # Keep what the file does not say (an index list has no lot size or listing date).
        changes = {
            k: v for k, v in values.items() if v not in (None, "") and getattr(current, k) != v
        }
        if changes:
            for name, value in changes.items():
                setattr(current, name, value)
            updated.append(current)
        else:
            unchanged += 1
    Instrument.objects.bulk_create(created)
    if updated:
        Instrument.objects.bulk_update(updated, fields)
    members = 0
    if index:
        instruments = Instrument.objects.filter(exchange=exchange, tradingsymbol__in=symbols)
        IndexMembership.objects.filter(index=index).exclude(instrument__in=instruments).delete()
        IndexMembership.objects.bulk_create(
            [IndexMembership(index=index, instrument=i) for i in instruments], ignore_conflicts=True
        )
        members = IndexMembership.objects.filter(index=index).count()
    # This process sees the new instruments at once (a caller may quote one before its
    # transaction ends, as the demo seed does); every reader again once it commits.
    instrument_specs_cache.clear()
    transaction.on_commit(instrument_specs_cache.clear)
    return {
        "created": len(created),
        "updated": len(updated),
        "unchanged": unchanged,
        "index_members": members,
    }


# --- Bars ----------------------------------------------------------------------------------


def bars_upsert(bars: Iterable[Bar], *, job=None, batch_size: int = UPSERT_BATCH) -> int:
    """Insert or overwrite bars by (instrument, interval, start), one transaction per chunk."""
    written, chunk = 0, []
    for bar in bars:
        chunk.append(bar)
        if len(chunk) >= batch_size:
            written += _write_chunk(chunk, job)
            chunk = []
    if chunk:
        written += _write_chunk(chunk, job)
    return written


def _write_chunk(chunk: list[Bar], job) -> int:
    with transaction.atomic():
        Bar.objects.bulk_create(
            chunk,
            update_conflicts=True,
            unique_fields=["instrument", "interval", "start"],
            update_fields=["open", "high", "low", "close", "volume"],
        )
    if job is not None:
        job.advance(len(chunk))
    return len(chunk)


def bars_import(
    *,
    rows: Sequence[BarRow],
    interval: str,
    exchange: str = "NSE",
    skip_unknown: bool = False,
    job=None,
) -> dict[str, int]:
    """Import parsed bars; 1-minute imports also refresh the 5m, 15m, 1h and 1d bars.

    Unknown symbols and ISINs that disagree with the instrument master are errors
    (or, with ``skip_unknown``, unknown symbols are skipped and counted).
    """
    instruments = {
        i.tradingsymbol: i
        for i in Instrument.objects.filter(
            exchange=exchange, tradingsymbol__in={r.tradingsymbol for r in rows}
        )
    }
    errors, bars, skipped = [], [], 0
    for row in rows:
        instrument = instruments.get(row.tradingsymbol)
        if instrument is None:
            if skip_unknown:
                skipped += 1
            else:
                errors.append(
                    RowError(row.line, f"unknown instrument {exchange}:{row.tradingsymbol}")
                )
            continue
        if row.isin and instrument.isin and row.isin != instrument.isin:
            errors.append(
                RowError(
                    row.line, f"ISIN {row.isin} does not match {instrument.key}'s {instrument.isin}"
                )
            )
            continue
        bars.append(
            Bar(
                instrument_id=instrument.id,
                interval=interval,
                start=row.start,
                open=row.open,
                high=row.high,
                low=row.low,
                close=row.close,
                volume=row.volume,
            )
        )
    if errors:
        raise BarImportError(errors)
    if job is not None:
        job.set_total(len(bars))
    written = bars_upsert(bars, job=job)
    resampled = 0
    if interval == "1m" and bars:
        sessions = defaultdict(set)
        for bar in bars:
            sessions[bar.instrument_id].add(timezone.localtime(bar.start, calendar.IST).date())
        resampled = bars_resample(sessions)
    return {"bars": written, "skipped": skipped, "resampled": resampled}


def _session_bars(rows: list[tuple], session_open) -> SessionBars:
    offsets = [int((start - session_open).total_seconds() // 60) for start, *_ in rows]
    columns = list(zip(*[r[1:] for r in rows], strict=True))
    return SessionBars(
        offset=np.array(offsets, dtype=np.int64),
        open=np.array([int(p * 100) for p in columns[0]], dtype=np.int64),
        high=np.array([int(p * 100) for p in columns[1]], dtype=np.int64),
        low=np.array([int(p * 100) for p in columns[2]], dtype=np.int64),
        close=np.array([int(p * 100) for p in columns[3]], dtype=np.int64),
        volume=np.array(columns[4], dtype=np.int64),
    )


def _higher_bars(instrument_id: int, day: date, minutes: SessionBars) -> list[Bar]:
    session_open = datetime.combine(day, calendar.MARKET_OPEN, calendar.IST)
    found = []
    for interval in HIGHER_INTERVALS:
        bars = resample(minutes, interval)
        found += _to_models(instrument_id, interval, session_open, bars)
    return found


def _to_models(instrument_id: int, interval: str, session_open, bars: SessionBars) -> list[Bar]:
    return [
        Bar(
            instrument_id=instrument_id,
            interval=interval,
            start=session_open + timedelta(minutes=int(bars.offset[i])),
            open=int(bars.open[i]) * PAISA,
            high=int(bars.high[i]) * PAISA,
            low=int(bars.low[i]) * PAISA,
            close=int(bars.close[i]) * PAISA,
            volume=int(bars.volume[i]),
        )
        for i in range(len(bars))
    ]


def bars_resample(sessions: dict[int, set[date]]) -> int:
    """Rebuild the 5m, 15m, 1h and 1d bars of these (instrument, session day) pairs from 1m bars."""
    higher = []
    for instrument_id, days in sessions.items():
        start = datetime.combine(min(days), calendar.MARKET_OPEN, calendar.IST)
        end = datetime.combine(max(days), calendar.MARKET_CLOSE, calendar.IST)
        by_day = defaultdict(list)
        for row in (
            Bar.objects.filter(
                instrument_id=instrument_id, interval="1m", start__gte=start, start__lt=end
            )
            .order_by("start")
            .values_list("start", "open", "high", "low", "close", "volume")
        ):
            by_day[timezone.localtime(row[0], calendar.IST).date()].append(row)
        for day in sorted(days & by_day.keys()):
            session_open = datetime.combine(day, calendar.MARKET_OPEN, calendar.IST)
            higher += _higher_bars(instrument_id, day, _session_bars(by_day[day], session_open))
    return bars_upsert(higher)


# --- Synthetic history ------------------------------------------------------------------------


def history_generate(
    *, days: int, end: date | None = None, keys: Sequence[str] | None = None, job=None,
    daily_only: bool = False,
) -> dict:  # fmt: skip
    """Generate ``days`` sessions of 1m bars (and their 5m, 15m, 1h, 1d) from the synthetic
    market, ending with the last completed session (or ``end``); with ``daily_only``, only
    each session's 1d bar (a long history for daily backtests, without its minutes).
    Running it again overwrites, never duplicates."""
    from marketdata.providers.synthetic import SyntheticProvider

    if days < 1 or days > 3660:
        raise ValueError("days must be between 1 and 3660")
    provider = SyntheticProvider()
    with calendar.exchange_hours():
        last = end or calendar.last_session_day()
        if timezone.now() < calendar.session_bounds(last)[1]:
            last = calendar.previous_trading_day(last)  # only completed sessions
        sessions = []
        day = last if calendar.is_trading_day(last) else calendar.previous_trading_day(last)
        while len(sessions) < days:
            sessions.append(day)
            day = calendar.previous_trading_day(day)
        sessions.reverse()
        specs = list(instrument_specs(keys).values())
        if job is not None:
            job.set_total(len(sessions) * len(specs))

        def generated():
            for session_day in sessions:
                session_open = calendar.session_bounds(session_day)[0]
                for spec in specs:
                    minutes = provider.session_minute_bars(spec, session_day)
                    if daily_only:
                        yield from _to_models(spec.id, "1d", session_open, resample(minutes, "1d"))
                    else:
                        yield from _to_models(spec.id, "1m", session_open, minutes)
                        yield from _higher_bars(spec.id, session_day, minutes)
                    if job is not None:
                        job.advance(1)

        written = bars_upsert(generated())
    return {
        "sessions": len(sessions),
        "instruments": len(specs),
        "bars": written,
        "first": sessions[0].isoformat(),
        "last": sessions[-1].isoformat(),
    }


# --- Price cache warming -------------------------------------------------------------------------


def cache_warm(
    *, keys: Sequence[str] | None = None, top_accessed: int = 50, workers: int = 10, batch: int = 25
) -> dict:
    """Fetch NIFTY 50 and the most-accessed instruments into the price cache, in parallel."""
    from marketdata.prefetch_service import most_accessed
    from marketdata.pricecache import upstream_quotes

    started = time.perf_counter()
    wanted = (
        list(keys)
        if keys
        else list(dict.fromkeys(index_member_keys() + most_accessed(top_accessed)))
    )
    known = list(instrument_specs(wanted))  # loads the specs once, before the threads start
    batches = [known[i : i + batch] for i in range(0, len(known), batch)]

    def warm(chunk: list[str]) -> int:
        try:
            return len(upstream_quotes(chunk, reason="warm"))
        finally:
            close_old_connections()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        warmed = sum(pool.map(warm, batches))
    return {
        "requested": len(wanted),
        "unknown": len(wanted) - len(known),
        "warmed": warmed,
        "batches": len(batches),
        "seconds": round(time.perf_counter() - started, 3),
    }
