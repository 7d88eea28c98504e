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
    CANCEL_PENDING = "CANCEL_PENDING", "Cancel sent to the broker, not yet answered"
    MODIFY_PENDING = "MODIFY_PENDING", "Change sent to the broker, not yet answered"
    COMPLETE = "COMPLETE", "Filled"
    CANCELLED = "CANCELLED", "Cancelled"
    REJECTED = "REJECTED", "Rejected"
    EXPIRED = "EXPIRED", "Expired at the close"


S = OrderStatus
#: The order state machine: every allowed move, and nothing else.
#:
#: An order at the broker is cancelled or changed by a request (CANCEL_PENDING,
#: MODIFY_PENDING) that the broker answers later: fills may come meanwhile (a partial one
#: keeps the request pending, a last one completes the order), and a refused request goes
#: back to the working status it came from (``Order.pending_from``). Only the broker ends a
#: working order at the broker: cancelled (on request, or on its own, as the rest of an
#: IOC) or expired at the close (the day's cancel request).
TRANSITIONS: dict[str, frozenset[str]] = {
    S.AMO: frozenset({S.ACCEPTED, S.CANCELLED, S.REJECTED}),
    S.ACCEPTED: frozenset({S.OPEN, S.TRIGGER_PENDING, S.REJECTED, S.CANCELLED, S.EXPIRED}),
    S.TRIGGER_PENDING: frozenset(
        {S.OPEN, S.PARTIALLY_FILLED, S.COMPLETE, S.CANCELLED, S.CANCEL_PENDING, S.MODIFY_PENDING}
    ),
    S.OPEN: frozenset(
        {
            S.PARTIALLY_FILLED,
            S.COMPLETE,
            S.CANCELLED,
            S.REJECTED,
            S.CANCEL_PENDING,
            S.MODIFY_PENDING,
        }
    ),
    S.PARTIALLY_FILLED: frozenset(
        {S.PARTIALLY_FILLED, S.COMPLETE, S.CANCELLED, S.CANCEL_PENDING, S.MODIFY_PENDING}
    ),
    S.CANCEL_PENDING: frozenset(
        {
            S.CANCEL_PENDING,
            S.COMPLETE,
            S.CANCELLED,
            S.EXPIRED,
            S.OPEN,
            S.TRIGGER_PENDING,
            S.PARTIALLY_FILLED,
        }
    ),
    S.MODIFY_PENDING: frozenset(
        {
            S.MODIFY_PENDING,
            S.COMPLETE,
            S.CANCELLED,
            S.CANCEL_PENDING,
            S.OPEN,
            S.TRIGGER_PENDING,
            S.PARTIALLY_FILLED,
        }
    ),
    S.COMPLETE: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
}
#: A request waiting for the broker's answer; the order keeps working (and may fill) meanwhile.
PENDING = frozenset({S.CANCEL_PENDING, S.MODIFY_PENDING})
#: Orders that may still fill, and so hold blocked funds.
WORKING = frozenset({S.AMO, S.ACCEPTED, S.OPEN, S.TRIGGER_PENDING, S.PARTIALLY_FILLED}) | PENDING
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
