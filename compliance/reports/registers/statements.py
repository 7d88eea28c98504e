"""The statements a client may run for their own client: holdings, positions, the ledger
with its running balance, and the margin statement.

Staff with the export permission may run them for any client or account, or firm-wide.
Rows are read through ``orders.selectors``, account by account.
"""

from collections.abc import Iterator
from decimal import Decimal
from itertools import groupby

from compliance.reports.registers.base import Column, Register, ReportParams, register
from compliance.reports.registers.common import CHUNK, batched, instants

HOLDER = frozenset({"account", "client"})

HOLDING_COLUMNS = (
    Column("account_id", "Account", 8),
    Column("ucc", "UCC", 10),
    Column("client_id", "Client", 7),
    Column("client_name", "Client name", 22),
    Column("symbol", "Symbol", 14),
    Column("isin", "ISIN", 13),
    Column("exchange", "Exch.", 6),
    Column("quantity", "Qty", 9),
    Column("average_price", "Avg. cost", 12),
    Column("cost_value", "Value at cost", 15),
    Column("updated_at", "Updated", 27),
)


def _holdings(params: ReportParams):
    from orders.selectors import holdings_for_register

    return holdings_for_register(
        account_id=params.account_id, client_id=params.client_id,
        instrument_id=params.instrument_id,
    )  # fmt: skip


def holding_rows(params: ReportParams) -> Iterator[tuple]:
    for h in _holdings(params).iterator(chunk_size=CHUNK):
        account, instrument = h.account, h.instrument
        yield (
            account.pk, account.code, account.client_id, account.client.name,
            instrument.tradingsymbol, instrument.isin, instrument.exchange, h.quantity,
            h.average_price, (h.average_price * h.quantity).quantize(Decimal("0.01")),
            h.updated_at,
        )  # fmt: skip


register(
    Register(
        kind="holdings_statement",
        title="Holdings statement",
        columns=HOLDING_COLUMNS,
        rows=holding_rows,
        count=lambda params: _holdings(params).count(),
        filters=HOLDER | {"instrument"},
        statement=True,
        description="Delivery holdings as they stand, at their average cost.",
    )
)


POSITION_COLUMNS = (
    Column("account_id", "Account", 8),
    Column("ucc", "UCC", 10),
    Column("client_id", "Client", 7),
    Column("client_name", "Client name", 20),
    Column("symbol", "Symbol", 14),
    Column("exchange", "Exch.", 6),
    Column("product", "Product", 7),
    Column("quantity", "Net qty", 9),
    Column("average_price", "Avg. price", 12),
    Column("day_buy_quantity", "Day buy", 8),
    Column("day_sell_quantity", "Day sell", 8),
    Column("realized_pnl", "Realised P&L", 13),
    Column("charges", "Charges", 10),
    Column("updated_at", "Updated", 27),
)


def _positions(params: ReportParams):
    from orders.selectors import positions_for_register

    return positions_for_register(
        account_id=params.account_id, client_id=params.client_id,
        instrument_id=params.instrument_id,
    )  # fmt: skip


def position_rows(params: ReportParams) -> Iterator[tuple]:
    for p in _positions(params).iterator(chunk_size=CHUNK):
        account = p.account
        yield (
            account.pk, account.code, account.client_id, account.client.name,
            p.instrument.tradingsymbol, p.instrument.exchange, p.product, p.quantity,
            p.average_price, p.day_buy_quantity, p.day_sell_quantity, p.realized_pnl,
            p.charges, p.updated_at,
        )  # fmt: skip


register(
    Register(
        kind="positions_statement",
        title="Positions statement",
        columns=POSITION_COLUMNS,
        rows=position_rows,
        count=lambda params: _positions(params).count(),
        filters=HOLDER | {"instrument"},
        statement=True,
        description="Positions as they stand: net quantity, average price, realised P&L.",
    )
)


LEDGER_COLUMNS = (
    Column("account_id", "Account", 8),
    Column("ucc", "UCC", 10),
    Column("client_id", "Client", 7),
    Column("posted_at", "Posted", 27),
    Column("entry_id", "Entry", 9),
    Column("kind", "Kind", 18),
    Column("memo", "Narration", 30),
    Column("order_id", "Order", 8),
    Column("fill_id", "Fill", 8),
    Column("debit", "Debit", 13),
    Column("credit", "Credit", 13),
    Column("balance", "Balance", 15),
)

OPENING, CLOSING = "opening_balance", "closing_balance"


def ledger_released(params: ReportParams) -> list[str]:
    """A statement may start after the postings archives released (carried forward into
    its opening balance), not among them."""
    from compliance.retention.released import ledger_refusals
    from orders.selectors import accounts_for_register

    start, _end = instants(params)
    if params.account_id is None and params.client_id is None:
        return ledger_refusals(None, start)
    accounts = accounts_for_register(account_id=params.account_id, client_id=params.client_id)
    return ledger_refusals(list(accounts.values_list("pk", flat=True)), start)


def ledger_rows(params: ReportParams) -> Iterator[tuple]:
    """Per account: the opening balance (the sum of everything posted before the period),
    each posting of the period with the balance after it, then the closing balance."""
    from orders.selectors import accounts_for_register, ledger_balances_before, ledger_for_register

    start, end = instants(params)
    if start is None or end is None:
        raise ValueError("A ledger statement needs date_from and date_to.")
    accounts = accounts_for_register(account_id=params.account_id, client_id=params.client_id)
    for batch in batched(accounts.iterator(chunk_size=CHUNK)):
        ids = [a.pk for a in batch]
        opening = ledger_balances_before(account_ids=ids, before=start)
        entries = ledger_for_register(account_ids=ids, start=start, end=end).iterator(
            chunk_size=CHUNK
        )
        pending = next(entries, None)
        for account in batch:
            head = (account.pk, account.code, account.client_id)
            balance = opening.get(account.pk, Decimal("0.00"))
            yield (*head, start, None, OPENING, "Opening balance", None, None, None, None, balance)
            while pending is not None and pending.account_id == account.pk:
                e = pending
                balance += e.amount
                debit, credit = (-e.amount, None) if e.amount < 0 else (None, e.amount)
                yield (
                    *head, e.posted_at, e.pk, e.kind, e.memo, e.order_id, e.fill_id, debit,
                    credit, balance,
                )  # fmt: skip
                pending = next(entries, None)
            yield (*head, end, None, CLOSING, "Closing balance", None, None, None, None, balance)


register(
    Register(
        kind="ledger_statement",
        released=ledger_released,
        title="Ledger statement",
        columns=LEDGER_COLUMNS,
        rows=ledger_rows,
        filters=HOLDER | {"date_from", "date_to"},
        needs=frozenset({"date_from", "date_to"}),
        statement=True,
        description="The cash ledger of the period with opening, running and closing balance.",
    )
)


MARGIN_COLUMNS = (
    Column("trade_date", "Trade date", 11),
    Column("account_id", "Account", 8),
    Column("ucc", "UCC", 10),
    Column("client_id", "Client", 7),
    Column("client_name", "Client name", 22),
    Column("snapshots", "Snapshots", 9),
    Column("peak_margin_used", "Peak margin used", 15),
    Column("as_of", "Closing figures as of", 27),
    Column("cash", "Cash (ledger)", 15),
    Column("blocked", "Blocked for orders", 15),
    Column("margin_used", "Margin used", 15),
    Column("available", "Available", 15),
    Column("shortfall", "Peak shortfall", 13),
)


def margin_rows(params: ReportParams) -> Iterator[tuple]:
    """One row per account and trade date, from the day's margin snapshots
    (``orders.MarginSnapshot``, every half hour in session and once after the close): the
    peak intraday margin in use, the last snapshot's figures (the close's, once taken) and
    the worst shortfall (available below zero) of the day."""
    from orders.selectors import margin_snapshots_for_register

    snapshots = margin_snapshots_for_register(
        date_from=params.date_from, date_to=params.date_to, account_id=params.account_id,
        client_id=params.client_id,
    ).iterator(chunk_size=CHUNK)  # fmt: skip
    for (day, account, *_), group in groupby(snapshots, key=lambda row: row[:2]):
        rows = list(group)  # one account's day: a few dozen snapshots at most
        last = rows[-1]
        _, _, ucc, client, name, taken_at, _, cash, blocked, used, available = last
        lowest = min(row[10] for row in rows)
        yield (
            day, account, ucc, client, name, len(rows), max(row[9] for row in rows), taken_at,
            cash, blocked, used, available, max(-lowest, Decimal("0.00")),
        )  # fmt: skip


register(
    Register(
        kind="margin_statement",
        title="Daily margin statement",
        columns=MARGIN_COLUMNS,
        rows=margin_rows,
        filters=HOLDER | {"date_from", "date_to"},
        needs=frozenset({"date_from", "date_to"}),
        statement=True,
        description="Per account and day: peak intraday margin, the closing funds and margin, "
        "and any shortfall, from the day's margin snapshots.",
    )
)
