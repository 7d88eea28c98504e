"""Fixtures of the market-data tests: instruments in the master."""

import pytest

from marketdata.models import IndexMembership, Instrument

IT = "Information Technology"
BANKS = "Financial Services"


@pytest.fixture
def instruments(db) -> dict[str, Instrument]:
    """INFY and TCS (IT), HDFCBANK and SBIN (banks), all in NIFTY 50."""
    made = {
        symbol: Instrument.objects.create(tradingsymbol=symbol, name=name, sector=sector, isin=isin)
        for symbol, name, sector, isin in [
            ("INFY", "Infosys Ltd.", IT, "INE009A01021"),
            ("TCS", "Tata Consultancy Services Ltd.", IT, "INE467B01029"),
            ("HDFCBANK", "HDFC Bank Ltd.", BANKS, "INE040A01034"),
            ("SBIN", "State Bank of India", BANKS, "INE062A01020"),
        ]
    }
    IndexMembership.objects.bulk_create(
        [IndexMembership(index="NIFTY 50", instrument=i) for i in made.values()]
    )
    return made
