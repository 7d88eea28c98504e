"""The trading registers: the trade register, the order log and the STT and stamp duty summary.

Fills and orders are read through ``orders.selectors``; an order's states come from the
audit trail, where every move of its state machine is one event (``order.<status>``).
"""

from collections.abc import Iterator
from decimal import Decimal

from django.db.models import CharField
from django.db.models.functions import Cast

from compliance.reports.registers.base import Column, Register, ReportParams, register
from compliance.reports.registers.common import CHUNK, batched, charge, in_period, reads
from orders.choices import TransactionType

SCOPE = frozenset({"date_from", "date_to", "account", "client", "instrument", "algo_id"})

TRADE_COLUMNS = (
    Column("trade_number", "Trade no.", 14),
    Column("fill_id", "Fill", 8),
    Column("traded_at", "Trade time", 27),
    Column("trade_date", "Trade date", 11),
    Column("order_id", "Order", 8),
    Column("exchange_order_id", "Exchange order no.", 16),
    Column("account_id", "Account", 8),
    Column("ucc", "UCC", 10),
    Column("client_id", "Client", 7),
    Column("client_name", "Client name", 22),
    Column("symbol", "Symbol", 12),
    Column("isin", "ISIN", 13),
    Column("exchange", "Exch.", 6),
    Column("side", "Side", 5),
    Column("product", "Product", 7),
    Column("quantity", "Qty", 8),
    Column("price", "Price", 10),
    Column("value", "Value", 13),
    Column("brokerage", "Brokerage", 9),
    Column("stt", "STT", 9),
    Column("exchange_transaction", "Exch. txn", 9),
    Column("sebi_fee", "SEBI fee", 8),
    Column("stamp_duty", "Stamp", 8),
    Column("gst", "GST", 8),
    Column("charges_total", "Charges", 9),
    Column("algo_id", "Algo ID", 12),
)


def _fills(params: ReportParams):
    from orders.selectors import fills_for_register

    return fills_for_register(
        date_from=params.date_from, date_to=params.date_to, account_id=params.account_id,
        client_id=params.client_id, instrument_id=params.instrument_id, algo_id=params.algo_id,
    )  # fmt: skip


#: What a trade register row reads: plain values, no model instances (a million rows).
TRADE_FIELDS = (
    "broker_fill_id", "pk", "filled_at", "trade_date", "order_id", "order__broker_order_id",
    "account_id", "account__code", "account__client_id", "account__client__name",
    "order__tradingsymbol", "order__instrument__isin", "order__exchange",
    "order__transaction_type", "order__product", "quantity", "price", "charges",
    "charges_total", "order__algo_id",
)  # fmt: skip


def trade_rows(params: ReportParams) -> Iterator[tuple]:
    for row in _fills(params).values_list(*TRADE_FIELDS).iterator(chunk_size=CHUNK):
        (trade, fill, at, day, order, exchange_order, account, ucc, client, name, symbol, isin,
         exchange, side, product, quantity, price, c, total, algo) = row  # fmt: skip
        yield (
            trade, fill, at, day, order, exchange_order, account, ucc, client, name, symbol,
            isin, exchange, side, product, quantity, price, price * quantity,
            charge(c, "brokerage"), charge(c, "stt"), charge(c, "exchange_transaction"),
            charge(c, "sebi_fee"), charge(c, "stamp_duty"), charge(c, "gst"), total, algo,
        )  # fmt: skip


register(
    Register(
        kind="trade_register",
        released=reads("orders"),
        title="Trade register",
        columns=TRADE_COLUMNS,
        rows=trade_rows,
        count=lambda params: _fills(params).count(),
        filters=SCOPE,
        description="Every fill of the period, firm-wide, with the charges it carries.",
    )
)


ORDER_LOG_COLUMNS = (
    Column("event_id", "Event", 9),
    Column("at", "Time", 27),
    Column("order_id", "Order", 8),
    Column("exchange_order_id", "Exchange order no.", 16),
    Column("account_id", "Account", 8),
    Column("ucc", "UCC", 10),
    Column("client_id", "Client", 7),
    Column("client_name", "Client name", 20),
    Column("symbol", "Symbol", 12),
    Column("exchange", "Exch.", 6),
    Column("side", "Side", 5),
    Column("order_type", "Type", 6),
    Column("product", "Product", 7),
    Column("quantity", "Qty", 7),
    Column("price", "Price", 10),
    Column("trigger_price", "Trigger", 10),
    Column("algo_id", "Algo ID", 12),
    Column("action", "Event", 18),
    Column("from_status", "From", 12),
    Column("to_status", "To", 12),
    Column("filled_quantity", "Filled", 7),
    Column("reason", "Reason", 24),
    Column("actor", "By", 12),
)


def _reason(after: dict) -> str:
    reasons = after.get("reasons")
    if reasons:
        return "; ".join(
            str(r.get("message", r)) if isinstance(r, dict) else str(r) for r in reasons
        )
    return str(after.get("reason") or "")


def order_log_rows(params: ReportParams) -> Iterator[tuple]:
    """One row per event of each order, oldest first, each with its order's details."""
    from compliance.models import AuditEvent
    from orders.models import Order
    from orders.selectors import orders_for_register

    orders = orders_for_register(
        account_id=params.account_id, client_id=params.client_id,
        instrument_id=params.instrument_id, algo_id=params.algo_id,
    )  # fmt: skip
    events = AuditEvent.objects.filter(
        object_type=Order._meta.label_lower, **in_period("occurred_at", params)
    )
    if params.account_id or params.client_id or params.instrument_id or params.algo_id:
        ids = orders.annotate(pk_text=Cast("pk", CharField())).values("pk_text")
        events = events.filter(object_id__in=ids)
    fields = ("id", "occurred_at", "object_id", "action", "actor_username", "before", "after")
    for batch in batched(events.order_by("id").values_list(*fields).iterator(chunk_size=CHUNK)):
        by_id = orders.in_bulk({int(e[2]) for e in batch if e[2].isdigit()})
        for pk, at, object_id, action, actor, before, after in batch:
            order = by_id.get(int(object_id)) if object_id.isdigit() else None
            if order is None:
                continue
            before, after = before or {}, after or {}
            account = order.account
            yield (
                pk, at, order.pk, order.broker_order_id, account.pk, account.code,
                account.client_id, account.client.name, order.tradingsymbol, order.exchange,
                order.transaction_type, order.order_type, order.product, order.quantity,
                order.price, order.trigger_price, order.algo_id, action,
                before.get("status", ""), after.get("status", ""),
                after.get("filled_quantity"), _reason(after), actor,
            )  # fmt: skip


register(
    Register(
        kind="order_log",
        released=reads("orders", "audit_events"),
        title="Order log",
        columns=ORDER_LOG_COLUMNS,
        rows=order_log_rows,
        filters=SCOPE,
        description="Every state change of every order, to the microsecond, from the audit trail.",
    )
)


STT_COLUMNS = (
    Column("trade_date", "Trade date", 11),
    Column("exchange", "Exchange", 8),
    Column("state_code", "State code", 8),
    Column("state", "Client's state", 24),
    Column("fills", "Fills", 8),
    Column("buy_value", "Buy value", 15),
    Column("sell_value", "Sell value", 15),
    Column("stt", "STT", 12),
    Column("stamp_duty", "Stamp duty", 12),
)

#: The state columns of a client with no state on record: no KYC application, or one
#: without a state (made before the field existed, or an address outside India).
UNKNOWN_STATE = ("unknown", "Unknown: no state on the client's KYC record")
ZERO = Decimal("0.00")


def _state(code: str) -> tuple[str, str]:
    """A state's code and name as the summary shows them (the contract note's names)."""
    from compliance.kyc.choices import IndianState

    return (code, IndianState(code).label) if code else UNKNOWN_STATE


def _per_state(key: tuple | None, by_state: dict[str, list]) -> Iterator[tuple]:
    """One trade date and exchange's rows, by state code, the unknown state last."""
    for code in sorted(by_state, key=lambda c: (c == "", c)):
        yield (*key, *_state(code), *by_state[code])


def stt_stamp_rows(params: ReportParams) -> Iterator[tuple]:
    """Per trade date, exchange and client's state, the fills' STT and stamp duty as each
    fill stores them. Stamp duty goes to the state of the buyer's residence (Indian Stamp
    Act, as amended in 2020): the state is the client's, from its current KYC application
    (``kyc_state_current``, the contract note's rule), read in the same query as the fills."""
    from compliance.kyc.selectors import kyc_state_current

    fills = (
        _fills(params)
        .annotate(client_state=kyc_state_current(client_field="account__client_id"))
        .order_by("trade_date", "order__exchange", "id")
        .values_list("trade_date", "order__exchange", "client_state", "order__transaction_type",
                     "quantity", "price", "charges")
    )  # fmt: skip
    key = None
    by_state: dict[str, list] = {}  # a day and exchange at a time: a few dozen states at most
    for day, exchange, state, side, quantity, price, charges in fills.iterator(chunk_size=CHUNK):
        if (day, exchange) != key:
            yield from _per_state(key, by_state)
            key, by_state = (day, exchange), {}
        totals = by_state.setdefault(state or "", [0, ZERO, ZERO, ZERO, ZERO])
        totals[0] += 1
        totals[1 if side == TransactionType.BUY else 2] += price * quantity
        totals[3] += charge(charges, "stt")
        totals[4] += charge(charges, "stamp_duty")
    yield from _per_state(key, by_state)


register(
    Register(
        kind="stt_stamp_summary",
        released=reads("orders"),
        title="STT and stamp duty summary",
        columns=STT_COLUMNS,
        rows=stt_stamp_rows,
        filters=SCOPE - {"algo_id"},
        description="STT and stamp duty per trade date, exchange and client's state (stamp duty "
        "goes to the buyer's state), from the fills' charges.",
    )
)
