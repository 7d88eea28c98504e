"""Reads of transaction monitoring: a window's deposits, withdrawals and fills as plain
rows (through the orders app's selectors), the incomes clients declared (KYC), when
accounts were last active, and how liquid instruments are (marketdata)."""

from datetime import datetime

from compliance.kyc.selectors import kyc_declared_incomes
from compliance.monitoring.patterns import DEPOSIT, WITHDRAWAL, FillRow, MoneyRow
from marketdata.selectors import Liquidity, instruments_liquidity
from orders.choices import LedgerKind
from orders.selectors import accounts_last_active, fills_of_period, ledger_of_period

KINDS = {LedgerKind.DEPOSIT: DEPOSIT, LedgerKind.WITHDRAWAL: WITHDRAWAL}


def money_rows(*, start: datetime, end: datetime) -> list[MoneyRow]:
    """Deposits and withdrawals from ``start`` to before ``end`` (amounts positive)."""
    return [
        MoneyRow(
            id=e.pk,
            account_id=e.account_id,
            client_id=e.account.client_id,
            kind=KINDS[e.kind],
            amount=abs(e.amount),
            at=e.posted_at,
        )
        for e in ledger_of_period(start=start, end=end, kinds=list(KINDS))
    ]


def fill_rows(*, start: datetime, end: datetime) -> list[FillRow]:
    return [
        FillRow(
            id=f.pk,
            account_id=f.account_id,
            client_id=f.account.client_id,
            instrument_id=f.order.instrument_id,
            symbol=f.order.tradingsymbol,
            quantity=f.quantity,
            price=f.price,
            at=f.filled_at,
        )
        for f in fills_of_period(start=start, end=end)
    ]


def declared_incomes(*, client_ids: set[int]) -> dict[int, str]:
    return kyc_declared_incomes(client_ids=client_ids)


def last_active(*, account_ids: set[int], before: datetime) -> dict[int, datetime]:
    return accounts_last_active(account_ids=account_ids, before=before)


def liquidity(*, instrument_ids: set[int], start: datetime, end: datetime) -> dict[int, Liquidity]:
    return instruments_liquidity(instrument_ids=instrument_ids, start=start, end=end)
