"""Margin requirements as data: the share of an order's value that must be blocked, by product.

Rows in ``orders/data/margins.csv`` carry effective dates; a symbol row overrides the ``*`` row.
"""

import csv
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

MARGINS_FILE = Path(__file__).resolve().parent / "data" / "margins.csv"


@lru_cache(maxsize=1)
def _rows() -> tuple[tuple[str, str, Decimal, date], ...]:
    with MARGINS_FILE.open(newline="") as handle:
        rows = []
        for line, row in enumerate(csv.DictReader(handle), start=2):
            fraction = Decimal(row["margin_fraction"])
            if not Decimal("0") < fraction <= Decimal("1"):
                raise ValueError(f"margins.csv line {line}: margin_fraction must be in (0, 1]")
            rows.append(
                (row["symbol"], row["product"], fraction, date.fromisoformat(row["effective_from"]))
            )
        return tuple(rows)


def margin_fraction(*, symbol: str, product: str, on: date) -> Decimal:
    """The share of an order's value to block for ``product`` on ``on``."""
    in_force = [r for r in _rows() if r[1] == product and r[3] <= on and r[0] in (symbol, "*")]
    if not in_force:
        raise LookupError(f"no margin rule for {product} on {on}")
    return max(in_force, key=lambda r: (r[0] != "*", r[3]))[2]
