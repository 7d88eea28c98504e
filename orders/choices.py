"""Choices of the orders app, in Kite Connect's vocabulary, and the order state machine."""

from django.db import models


class TransactionType(models.TextChoices):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(models.TextChoices):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    SL = "SL", "SL (stop-limit)"
    SL_M = "SL-M", "SL-M (stop-market)"


class Product(models.TextChoices):
    CNC = "CNC", "CNC (delivery)"
    MIS = "MIS", "MIS (intraday)"
    NRML = "NRML", "NRML (normal)"


class Validity(models.TextChoices):
    DAY = "DAY"
    IOC = "IOC"


class OrderStatus(models.TextChoices):
    AMO = "AMO", "After-market order, queued for the next open"
    ACCEPTED = "ACCEPTED", "Accepted, not yet at the exchange"
    OPEN = "OPEN", "Open at the exchange"
    TRIGGER_PENDING = "TRIGGER_PENDING", "Stop order waiting for its trigger"
    PARTIALLY_FILLED = "PARTIALLY_FILLED", "Partially filled"
    COMPLETE = "COMPLETE", "Filled"
    CANCELLED = "CANCELLED", "Cancelled"
    REJECTED = "REJECTED", "Rejected"
    EXPIRED = "EXPIRED", "Expired at the close"


S = OrderStatus
#: The order state machine: every allowed move, and nothing else.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.AMO: frozenset({S.ACCEPTED, S.CANCELLED, S.REJECTED}),
    S.ACCEPTED: frozenset({S.OPEN, S.TRIGGER_PENDING, S.REJECTED, S.CANCELLED}),
    S.TRIGGER_PENDING: frozenset({S.OPEN, S.PARTIALLY_FILLED, S.COMPLETE, S.CANCELLED, S.EXPIRED}),
    S.OPEN: frozenset({S.PARTIALLY_FILLED, S.COMPLETE, S.CANCELLED, S.EXPIRED, S.REJECTED}),
    S.PARTIALLY_FILLED: frozenset({S.PARTIALLY_FILLED, S.COMPLETE, S.CANCELLED, S.EXPIRED}),
    S.COMPLETE: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
}
#: Orders that may still fill, and so hold blocked funds.
WORKING = frozenset({S.AMO, S.ACCEPTED, S.OPEN, S.TRIGGER_PENDING, S.PARTIALLY_FILLED})
TERMINAL = frozenset(status for status, moves in TRANSITIONS.items() if not moves)


class LedgerKind(models.TextChoices):
    DEPOSIT = "deposit", "Deposit"
    WITHDRAWAL = "withdrawal", "Withdrawal"
    TRADE_DEBIT = "trade_debit", "Trade debit (buy value)"
    TRADE_CREDIT = "trade_credit", "Trade credit (sell value)"
    REALIZED_PNL = "realized_pnl", "Realized P&L (intraday)"
    BROKERAGE = "brokerage", "Brokerage"
    STT = "stt", "Securities transaction tax"
    EXCHANGE_TRANSACTION = "exchange_transaction", "Exchange transaction charge"
    SEBI_FEE = "sebi_fee", "SEBI turnover fee"
    STAMP_DUTY = "stamp_duty", "Stamp duty"
    GST = "gst", "GST"
    ADJUSTMENT = "adjustment", "Adjustment"
