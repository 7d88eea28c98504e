"""Market-data providers behind one small interface.

A provider answers quotes for many instruments in one call, and historical bars.
``MARKETDATA_PROVIDER`` names the one in use. The live-broker provider will register
itself in PROVIDERS when the broker adapter exists; until then only the synthetic
market is available, and stored bars come from the CSV and bhavcopy importers.
"""

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from marketdata.quotes import OHLCV, Quote

PROVIDERS = {"synthetic": "marketdata.providers.synthetic.SyntheticProvider"}


class MarketDataProvider(Protocol):
    name: str

    def quotes(self, keys: Sequence[str], *, at: datetime | None = None) -> dict[str, Quote]:
        """Quotes of the known instruments among ``keys``; unknown keys are left out."""

    def bars(self, key: str, interval: str, start: datetime, end: datetime) -> list[OHLCV]:
        """Bars of one instrument starting in [start, end)."""


@cache
def _provider(name: str) -> MarketDataProvider:
    if name not in PROVIDERS:
        raise ValueError(
            f"MARKETDATA_PROVIDER={name!r} is unknown; choose one of {sorted(PROVIDERS)}"
        )
    return import_string(PROVIDERS[name])()


def get_provider() -> MarketDataProvider:
    return _provider(settings.MARKETDATA_PROVIDER)
