"""Bars from a CSV file of ``date,open,high,low,close,volume``, checked line by line.

``date`` is ``YYYY-MM-DD`` or an ISO 8601 date and time with an offset (``Z`` or
``+05:30``); the labels keep the text as written, the times are UTC (a date alone is that
day at 00:00 UTC). Pandas' C parser reads the file; every check then runs over whole
columns, and the error names the first bad line (the header is line 1) and its problem.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from strategies.base import Bars, StrategyError

COLUMNS = ("date", "open", "high", "low", "close", "volume")
PRICES = ("open", "high", "low", "close")


def bars_read_csv(path: str | os.PathLike[str], *, symbol: str = "") -> Bars:
    """The bars of ``path``; StrategyError naming the file, the line and the problem."""
    path = Path(path)
    label = path.name
    header = _read(path, label, nrows=0)
    names = {str(name).strip().lower(): name for name in header.columns}
    missing = [name for name in COLUMNS if name not in names]
    if missing:
        raise StrategyError(f"{label} line 1: missing column(s) {', '.join(missing)}")
    # The C parser straight to float64; only a file with a bad number is read again as
    # text, to name the line and quote what it holds.
    numeric = {names[name]: np.float64 for name in (*PRICES, "volume")}
    try:
        frame = _read(
            path, label, dtype={names["date"]: str, **numeric},
            na_values={name: [""] for name in numeric},
        )  # fmt: skip
        as_text = False
    except ValueError as exc:
        if isinstance(exc, StrategyError):
            raise
        frame, as_text = None, True
    if frame is not None:
        frame = _trailing_blanks_dropped(frame)
        block = frame[list(numeric)].to_numpy(dtype=np.float64)
        as_text = not np.isfinite(block).all()
    if as_text:
        frame = _trailing_blanks_dropped(_read(path, label, dtype=str, na_filter=False))
    frame = frame.rename(columns={original: name for name, original in names.items()})
    if len(frame) == 0:
        raise StrategyError(f"{label}: no bars after the header")

    problems: list[tuple[int, str]] = []  # (row, problem): the first row of each check

    def first(bad: np.ndarray, describe) -> None:
        found = np.flatnonzero(bad)
        if len(found):
            problems.append((int(found[0]), describe(int(found[0]))))

    labels = frame["date"].to_numpy(dtype=object)
    values = {}
    if as_text:
        blank = np.ones(len(frame), dtype=bool)
        for name in COLUMNS:
            blank &= (frame[name] == "").to_numpy()
        first(blank, lambda i: "the line is blank")
        for name in (*PRICES, "volume"):
            text = frame[name]
            number = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
            values[name] = number
            raw = text.to_numpy(dtype=object)
            first(~np.isfinite(number), lambda i, name=name, raw=raw: _not_number(name, raw[i]))
    else:
        for name in (*PRICES, "volume"):
            values[name] = frame[name].to_numpy(dtype=np.float64)
    time, bad_date = _times(labels)
    first(bad_date, lambda i: f"date {labels[i]!r} is not YYYY-MM-DD or ISO with an offset")
    if problems:
        _raise(label, problems)

    o, h, lo, c, v = (values[name] for name in (*PRICES, "volume"))
    for name in PRICES:
        price = values[name]
        first(price <= 0, lambda i, name=name, p=price: f"{name} {float(p[i])!r} is not above 0")
    first(h < lo, lambda i: f"high {float(h[i])!r} is below low {float(lo[i])!r}")
    for name, price in (("open", o), ("close", c)):
        first(
            (price < lo) | (price > h),
            lambda i, name=name, price=price: (
                f"{name} {float(price[i])!r} is outside low {float(lo[i])!r} "
                f"to high {float(h[i])!r}"
            ),
        )
    first(v < 0, lambda i: f"volume {float(v[i])!r} is negative")
    steps = np.diff(time.astype(np.int64))
    first(
        np.r_[False, steps <= 0],
        lambda i: (
            f"date {labels[i]} is {'the same as' if time[i] == time[i - 1] else 'before'} "
            f"{labels[i - 1]} on line {i + 1}"
        ),
    )
    if problems:
        _raise(label, problems)
    return Bars(
        time=time, open=o, high=h, low=lo, close=c, volume=v,
        labels=tuple(labels.tolist()), symbol=symbol or path.stem,
    )  # fmt: skip


def _read(path: Path, label: str, **options) -> pd.DataFrame:
    try:
        frame = pd.read_csv(
            path,
            keep_default_na=False,
            skip_blank_lines=False,
            skipinitialspace=True,
            engine="c",
            encoding="utf-8-sig",
            **options,
        )
    except pd.errors.EmptyDataError:
        raise StrategyError(f"{label}: the file is empty (no header)") from None
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found:
            want, line, saw = found.groups()
            raise StrategyError(
                f"{label} line {line}: {saw} fields where the header (line 1) has {want}"
            ) from None
        raise StrategyError(f"{label}: unreadable CSV: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StrategyError(f"{label}: cannot read: {exc}") from None
    if not isinstance(frame.index, pd.RangeIndex):
        # Pandas takes a first data row longer than the header as an index column.
        raise StrategyError(f"{label} line 2: more fields than the header (line 1) has")
    return frame


def _blank(row: pd.Series) -> bool:
    return all(value == "" or (isinstance(value, float) and np.isnan(value)) for value in row)


def _trailing_blanks_dropped(frame: pd.DataFrame) -> pd.DataFrame:
    """Trailing blank lines are not data; a blank line inside the data is an error."""
    end = len(frame)
    while end and _blank(frame.iloc[end - 1]):
        end -= 1
    return frame.iloc[:end] if end < len(frame) else frame


def _raise(label: str, problems: list[tuple[int, str]]) -> None:
    row, problem = min(problems, key=lambda found: found[0])  # the first check on a tie
    raise StrategyError(f"{label} line {row + 2}: {problem}")


def _not_number(name: str, raw: str) -> str:
    if not raw.strip():
        return f"{name} is empty"
    return f"{name} {raw!r} is not a finite number"


def _times(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """UTC times (datetime64[us]) and which labels are not a date or a time with offset."""
    width = 40
    try:
        text = labels.astype(f"S{width}")
    except (UnicodeEncodeError, ValueError, TypeError):
        text = np.array([str(value).encode("ascii", "replace")[:width] for value in labels])
        text = text.astype(f"S{width}")
    codes = text.view(np.uint8).reshape(len(text), width)
    length = (codes != 0).sum(axis=1)
    rows = np.arange(len(text))
    last = codes[rows, np.maximum(length - 1, 0)]
    sign = codes[rows, np.maximum(length - 6, 0)]
    colon = codes[rows, np.maximum(length - 3, 0)]
    dated = (length == 10) | ((length >= 20) & (length < width))
    with_offset = (last == ord("Z")) | (
        ((sign == ord("+")) | (sign == ord("-"))) & (colon == ord(":"))
    )
    shaped = dated & ((length == 10) | with_offset)
    shaped &= (codes[:, 4] == ord("-")) & (codes[:, 7] == ord("-"))
    shaped &= (length == 10) | (codes[:, 10] == ord("T")) | (codes[:, 10] == ord(" "))
    text = labels
    time = np.zeros(len(text), dtype="datetime64[us]")
    if not shaped.all():
        bad = ~shaped
        return time, bad
    try:
        parsed = pd.to_datetime(pd.Series(text), format="ISO8601", utc=True)
        time = parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
        return time, np.zeros(len(text), dtype=bool)
    except (ValueError, OverflowError):
        # Some label is shaped right but is no real date (2024-02-30): find it.
        bad = np.zeros(len(text), dtype=bool)
        for i, value in enumerate(labels.tolist()):
            try:
                datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                bad[i] = True
                break
        if not bad.any():
            bad[:] = True  # pandas refused the column as a whole; blame the first line
        return time, bad
