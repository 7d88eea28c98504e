"""Writes of the orders app: place, modify and cancel orders, apply fills, post to the ledger.

Every write is one transaction (``orders.locks.spine_transaction``) that takes its row locks
in the order ``orders.locks`` fixes (the account first, then the order, the position, the
audit chain last), records its audit event in that transaction, and leaves side effects,
such as submitting to the broker, to ``on_commit``. Refusals are ``DomainError``s, which
the API maps to problem+json in one place. Status moves go through ``order_transition``
and the table in ``orders.choices.TRANSITIONS``; nothing else changes an order's status.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, ROUND_UP, Decimal
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.module_loading import import_string
from prometheus_client import Counter

from compliance.services import audit_record
from marketdata import calendar
from marketdata.models import Instrument
from marketdata.pricecache import quote_get_many
from marketdata.quotes import Quote
from orders import locks
from orders.charges import charges_for_fill
from orders.choices import PENDING, TRANSITIONS, WORKING, LedgerKind, OrderStatus
from orders.margins import margin_fraction
from orders.models import Fill, LedgerEntry, Order, OrderOutbox, TradingAccount
from orders.positions import PositionState, position_after_fill
from orders.rates import brokerage_plans, charge_rates
from orders.selectors import AccountBook, account_book, funds_of
from orders.signals import order_rejected
from orders.validation import OrderRequest, Rejection, business_rejections, request_errors
from tradingsite.errors import DomainError, validation_detail

PAISA = Decimal("0.01")
NONE_BLOCKED = Decimal("0.00")
ORDER_REJECTIONS = Counter("orders_rejections_total", "Orders rejected, by reason code", ["code"])


class OrderInputError(DomainError, ValueError):
    """The request cannot be an order at all; nothing was written."""

    problem_type = "validation-error"

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(validation_detail(errors), errors=errors)


class IdempotencyMismatch(DomainError, ValueError):
    """The client_order_id was used before with a different payload."""

    problem_type = "idempotency-mismatch"

    def __init__(self, order: Order) -> None:
        self.order = order
        super().__init__(
            f"client_order_id {order.client_order_id!r} was already used for order {order.pk} "
            "with a different payload.",
            extra={"order_id": order.pk},
        )


class IllegalTransition(DomainError, ValueError):
    problem_type = "order-not-working"

    def __init__(self, order: Order, to: str, detail: str = "") -> None:
        self.order, self.to = order, to
        super().__init__(detail or f"Order {order.pk} is {order.status}; it cannot become {to}.")


class OrderNotWorking(IllegalTransition):
    """A cancel or modify of an order that is past changing, worded for what was tried."""

    def __init__(self, order: Order, tried: str) -> None:
        state = {
            OrderStatus.COMPLETE: "filled",
            OrderStatus.CANCEL_PENDING: "being cancelled",
        }.get(order.status, order.status.lower())
        super().__init__(order, order.status, f"Order {order.pk} is {state} and cannot be {tried}.")


@dataclass(frozen=True)
class PlaceResult:
    order: Order
    created: bool


# --- State machine ------------------------------------------------------------------------


def _move(order: Order, to: str) -> str:
    """Set ``order``'s status to ``to`` if the state machine allows it; returns the old one."""
    if to not in TRANSITIONS[order.status]:
        raise IllegalTransition(order, to)
    before, order.status = order.status, to
    return before


#: What a status move saves of the order.
MOVED_FIELDS = [
    "status", "quantity", "price", "trigger_price", "filled_quantity", "average_price",
    "blocked_amount", "pending_from", "pending_change", "requested_at", "updated_at",
]  # fmt: skip


def order_transition(
    order: Order, to: str, *, actor=None, reason: str = "", action: str = "", **detail
) -> None:
    """Move ``order`` to ``to`` if the state machine allows it; audit the move (as ``action``,
    by default ``order.<new status>``)."""
    before = _move(order, to)
    order.save(update_fields=MOVED_FIELDS)
    audit_record(
        action=action or f"order.{to.lower()}",
        obj=order,
        actor=actor,
        before={"status": before},
        after={"status": to, "filled_quantity": order.filled_quantity, "reason": reason, **detail},
    )


# --- Ledger and funds ------------------------------------------------------------------------


class FundsRefused(DomainError, ValueError):
    """A deposit, withdrawal or adjustment that cannot be posted; nothing was."""


def ledger_post(
    *,
    account: TradingAccount,
    kind: str,
    amount: Decimal,
    order=None,
    fill=None,
    memo: str = "",
    actor=None,
) -> LedgerEntry:
    """Post one entry; the caller holds the account row lock. The balance moves with it."""
    entry = LedgerEntry.objects.create(
        account=account,
        kind=kind,
        amount=amount,
        order=order,
        fill=fill,
        memo=memo[:200],
        posted_by=getattr(actor, "username", "system"),
    )
    account.cash_balance += amount
    account.save(update_fields=["cash_balance"])
    audit_record(
        action="ledger.posted",
        obj=entry,
        actor=actor,
        after={
            "account": account.code,
            "kind": kind,
            "amount": str(amount),
            "balance": str(account.cash_balance),
        },
    )
    return entry


@locks.spine_transaction
def funds_move(
    *, account: TradingAccount, kind: str, amount: Decimal, actor=None, memo: str = ""
) -> LedgerEntry:
    """A deposit, withdrawal or adjustment. Withdrawals cannot take more than is available."""
    if kind not in (LedgerKind.DEPOSIT, LedgerKind.WITHDRAWAL, LedgerKind.ADJUSTMENT):
        raise FundsRefused(f"{kind} is posted by trading, not by hand")
    if amount <= 0 and kind != LedgerKind.ADJUSTMENT:
        raise FundsRefused("amount must be positive")
    account = locks.account(account.pk)
    signed = -amount if kind == LedgerKind.WITHDRAWAL else amount
    available = funds_of(account, on=timezone.localdate())["available"]
    if kind == LedgerKind.WITHDRAWAL and amount > available:
        raise FundsRefused(f"only {available} is available to withdraw")
    return ledger_post(account=account, kind=kind, amount=signed, memo=memo, actor=actor)


#: What a client sees on an order cancelled because their account was frozen.
SUSPENDED_CANCEL = "cancelled: the account is suspended"


@locks.spine_transaction
def account_suspend(*, account: TradingAccount, reason: str, actor=None) -> TradingAccount:
    """Freeze an account (an AML true match, for one): from now on its orders are refused
    (``ACCOUNT_NOT_ACTIVE``), and its working orders are cancelled (those at the broker by
    a cancel request sent after commit). Audited on the account's chain. An account already
    suspended or closed is returned unchanged, with no event. The cancels give the desk's
    neutral reason, never ``reason`` (tipping-off): only the audit trail keeps that."""
    account = locks.account(account.pk)
    if account.status != TradingAccount.Status.ACTIVE:
        return account
    account.status = TradingAccount.Status.SUSPENDED
    account.save(update_fields=["status"])
    working = locks.orders(
        Order.objects.filter(account=account, status__in=WORKING)
        .exclude(status=OrderStatus.CANCEL_PENDING)
        .values_list("pk", flat=True)
    )
    for order in working:
        _cancel_locked(
            account, order, to=OrderStatus.CANCELLED, actor=actor, reason=SUSPENDED_CANCEL
        )
    audit_record(
        action="account.suspended",
        obj=account,
        actor=actor,
        before={"status": TradingAccount.Status.ACTIVE},
        after={"status": account.status, "reason": reason[:300],
               "orders_cancelled": [o.pk for o in working]},
    )  # fmt: skip
    return account


def _block(account: TradingAccount, order: Order, amount: Decimal) -> None:
    """Set the funds ``order`` holds to ``amount``, keeping the account's total in step."""
    account.blocked += amount - order.blocked_amount
    order.blocked_amount = amount
    account.save(update_fields=["blocked"])


def required_funds(
    *, instrument: Instrument, request: OrderRequest, quote: Quote, on, intraday_position: int = 0
) -> Decimal:
    """Funds to block: full value for delivery buys, the margin share for intraday (none for the
    part that closes an open intraday position), none for delivery sells."""
    if request.product != "MIS" and request.transaction_type == "SELL":
        return Decimal("0.00")
    quantity = request.quantity
    if request.product == "MIS" and intraday_position:
        closes = (intraday_position > 0) == (request.transaction_type == "SELL")
        if closes:
            quantity -= min(abs(intraday_position), quantity)
    if quantity == 0:
        return Decimal("0.00")
    if request.order_type == "MARKET" or (request.order_type == "SL-M"):
        reference = request.trigger_price or (
            quote.ask if request.transaction_type == "BUY" else quote.bid
        )
    else:
        reference = request.price
    fraction = margin_fraction(symbol=instrument.tradingsymbol, product=request.product, on=on)
    return (quantity * reference * fraction).quantize(PAISA, ROUND_UP)


# --- Placing --------------------------------------------------------------------------------


def instrument_for(request: OrderRequest) -> Instrument:
    try:
        return Instrument.objects.get(
            exchange=request.exchange, tradingsymbol=request.tradingsymbol
        )
    except Instrument.DoesNotExist:
        raise OrderInputError({"tradingsymbol": [f"unknown instrument {request.key}"]}) from None


def _pre_trade_checks(**context) -> list[Rejection]:
    """The risk pipeline's hook (ORDERS_PRE_TRADE_CHECKS), called with the account locked."""
    found: list[Rejection] = []
    for path in settings.ORDERS_PRE_TRADE_CHECKS:
        found += import_string(path)(**context)
    return found


def order_place(
    *, account: TradingAccount, request: OrderRequest, actor=None, source_ip: str | None = None,
    request_id: str = "",
) -> PlaceResult:  # fmt: skip
    """Validate, run the checks, and record the order as ACCEPTED, AMO or REJECTED, all at once.

    The same client_order_id with the same payload returns the original order, and with
    another payload raises IdempotencyMismatch. A duplicate sent while the first is being
    placed waits for the account lock and then finds it, through the unique index on
    (account, client_order_id).
    """
    instrument = instrument_for(request)
    errors = request_errors(request, instrument)
    if errors:
        raise OrderInputError(errors)
    prices = _prices_before_lock(account, instrument)  # quotes may go upstream: no lock yet
    return _place_locked(
        account.pk, instrument, request, prices, request.payload_hash(), actor, source_ip,
        request_id,
    )  # fmt: skip


def _prices_before_lock(account: TradingAccount, instrument: Instrument) -> dict[str, Quote]:
    """The quote of ``instrument`` and of everything the account holds or works, fetched
    before any lock is taken (a miss may wait on the upstream's rate limit)."""
    keys = [instrument.key, *account_book(account.pk).instrument_keys]
    return quote_get_many(dict.fromkeys(keys))


def reduces_position(
    *, book: AccountBook, instrument, request: OrderRequest, sellable: int
) -> bool:
    """Whether the order only closes or reduces what the account holds (no new exposure):
    a sell within the long position (for delivery: within what is sellable), a buy within
    the short one."""
    if request.transaction_type == "SELL":
        if request.product == "CNC":
            return request.quantity <= sellable
        return request.quantity <= max(book.position(instrument.pk, request.product), 0)
    return request.quantity <= max(-book.position(instrument.pk, request.product), 0)


@dataclass(frozen=True)
class Assessment:
    """What placement would decide for an order now: every reason to refuse it, and its funds."""

    rejections: list[Rejection]
    required_funds: Decimal
    market_open: bool
    session_date: date


def order_assess(
    *, account, instrument, request: OrderRequest, prices: dict[str, Quote], now: datetime,
    book: AccountBook | None = None,
) -> Assessment:  # fmt: skip
    """The checks of placement, with no writes; the caller holds the account row lock.

    ``prices`` holds the quote of ``instrument`` and those of the account's other
    instruments, fetched before the lock."""
    quote = prices[instrument.key]
    market_open = calendar.is_open(now)
    today = timezone.localtime(now, calendar.IST).date()
    session_date = today if market_open else calendar.next_open(now).astimezone(calendar.IST).date()
    book = book or account_book(account.pk)
    required = required_funds(
        instrument=instrument,
        request=request,
        quote=quote,
        on=today,
        intraday_position=book.position(instrument.pk, "MIS"),
    )
    sellable = book.sellable(instrument.pk) if request.transaction_type == "SELL" else 0
    rejections = business_rejections(
        account=account,
        instrument=instrument,
        request=request,
        quote=quote,
        market_open=market_open,
        sellable=sellable,
        today=today,
        reduces_position=reduces_position(
            book=book, instrument=instrument, request=request, sellable=sellable
        ),
        available_funds=funds_of(account, on=today, book=book)["available"],
        required_funds=required,
    )
    rejections += _pre_trade_checks(
        account=account, instrument=instrument, request=request, quote=quote, prices=prices,
        book=book,
    )  # fmt: skip
    return Assessment(rejections, required, market_open, session_date)


def order_what_if(*, account: TradingAccount, request: OrderRequest) -> Assessment:
    """Run every check placement would run, and write nothing (the what-if endpoint)."""
    instrument = instrument_for(request)
    errors = request_errors(request, instrument)
    if errors:
        raise OrderInputError(errors)
    prices = _prices_before_lock(account, instrument)

    @locks.spine_transaction
    def assess() -> Assessment:
        return order_assess(
            account=locks.account(account.pk), instrument=instrument, request=request,
            prices=prices, now=timezone.now(),
        )  # fmt: skip

    return assess()


@locks.spine_transaction
def _place_locked(
    account_pk, instrument, request, prices, payload, actor, source_ip, request_id
) -> PlaceResult:
    account = locks.account(account_pk)
    # Read after the lock: a duplicate that waited for it sees the first, by the unique index.
    book = account_book(account_pk, client_order_id=request.client_order_id)
    if book.replay_of is not None:
        existing = Order.objects.get(pk=book.replay_of[0])
        if book.replay_of[1] != payload:
            raise IdempotencyMismatch(existing)
        return PlaceResult(existing, created=False)
    now = timezone.now()
    assessment = order_assess(
        account=account, instrument=instrument, request=request, prices=prices, now=now,
        book=book,
    )  # fmt: skip
    rejections, required, market_open = (
        assessment.rejections,
        assessment.required_funds,
        assessment.market_open,
    )
    for rejection in rejections:
        ORDER_REJECTIONS.labels(rejection.code).inc()
    status = (
        OrderStatus.REJECTED
        if rejections
        else OrderStatus.ACCEPTED
        if market_open
        else OrderStatus.AMO
    )
    order = Order(
        account=account,
        instrument=instrument,
        exchange=instrument.exchange,
        tradingsymbol=instrument.tradingsymbol,
        transaction_type=request.transaction_type,
        order_type=request.order_type,
        product=request.product,
        validity=request.validity,
        quantity=request.quantity,
        price=request.price,
        trigger_price=request.trigger_price,
        touch_bid=prices[instrument.key].bid,
        touch_ask=prices[instrument.key].ask,
        tag=request.tag,
        client_order_id=request.client_order_id,
        algo_id=request.algo_id,
        status=status,
        rejection_reasons=[r.as_dict() for r in rejections],
        session_date=assessment.session_date,
        payload_hash=payload,
        placed_by=actor if getattr(actor, "pk", None) else None,
        placed_from_ip=source_ip,
        request_id=request_id,
    )
    if not rejections:
        _block(account, order, required)
    order.save(force_insert=True)
    snapshot = {
        "status": status,
        "quantity": order.quantity,
        "price": str(order.price or ""),
        "instrument": instrument.key,
        "side": order.transaction_type,
        "product": order.product,
        "order_type": order.order_type,
        "algo_id": order.algo_id,
    }
    if rejections:
        audit_record(
            action="order.rejected",
            obj=order,
            actor=actor,
            after={**snapshot, "reasons": order.rejection_reasons},
        )
        order_rejected.send(sender=Order, order=order, rejections=rejections)
        return PlaceResult(order, created=True)
    OrderOutbox.objects.create(
        order=order, not_before=now if market_open else calendar.next_open(now)
    )
    audit_record(
        action=f"order.{status.lower()}",
        obj=order,
        actor=actor,
        after={**snapshot, "blocked": str(required)},
    )
    if market_open:
        from orders.tasks import submit_order

        transaction.on_commit(lambda: submit_order.delay(order.pk))
    return PlaceResult(order, created=True)


# --- Modifying and cancelling --------------------------------------------------------------------
#
# An order at the broker (it has a broker_order_id) is cancelled or changed by a request: the
# transaction records it (CANCEL_PENDING, MODIFY_PENDING, funds still blocked), the execution
# task asks the broker after commit with no lock held (``orders.execution``), and
# ``order_cancel_answered`` / ``order_modify_answered`` record the answer. An order the broker
# has not received (AMO, ACCEPTED) changes at once: its submission sends it as it then is.


class OrderPending(IllegalTransition):
    """A change of an order that waits for the broker: for its answer to an earlier change, or
    for the order's own submission."""

    def __init__(self, order: Order, waiting_for: str) -> None:
        super().__init__(
            order,
            order.status,
            f"Order {order.pk} is waiting for {waiting_for}; retry once it is answered.",
        )


def _request(order: Order, to: str, *, change: dict, actor, action: str, **detail) -> None:
    """Record a request the broker will answer, and the working status to go back to."""
    if order.status not in PENDING:
        order.pending_from = order.status
    order.pending_change, order.requested_at = change, timezone.now()
    order_transition(order, to, actor=actor, action=action, **detail)


def order_rejected_at_broker(account: TradingAccount, order: Order, *, reason: str) -> None:
    """The broker refused an order it was sent (both locked by the caller): REJECTED, its
    funds released, the broker's reason kept with the order's other rejection reasons."""
    reason = reason or "rejected by the broker, with no reason given"
    _block(account, order, NONE_BLOCKED)
    order.rejection_reasons = [{"code": "broker_rejected", "message": reason}]
    order.save(update_fields=["rejection_reasons"])
    order_transition(order, OrderStatus.REJECTED, reason=reason)


def _answered(order: Order, to: str, **audit) -> None:
    """Leave a pending request for ``to``: the broker answered it."""
    order.pending_from, order.pending_change, order.requested_at = "", {}, None
    order_transition(order, to, **audit)


@locks.spine_transaction
def order_cancel(*, order: Order, actor=None, reason: str = "cancelled by request") -> Order:
    """Cancel the unfilled rest of a working order.

    An order the broker has not received is CANCELLED at once and its funds released. One at
    the broker becomes CANCEL_PENDING, funds still blocked; the broker is asked after commit
    (``orders.tasks.cancel_at_broker``). Asking again while the answer is awaited changes
    nothing but asking the broker again; a change awaiting its answer (MODIFY_PENDING) is
    superseded by the cancel."""
    account, order = locks.account_and_order(order.pk, order.account_id)
    return _cancel_locked(account, order, to=OrderStatus.CANCELLED, actor=actor, reason=reason)


@locks.spine_transaction
def order_expire(*, order: Order, reason: str) -> Order:
    """End a working DAY order at the close: EXPIRED at once if the broker never received it,
    else by a cancel request whose confirmation expires it."""
    account, order = locks.account_and_order(order.pk, order.account_id)
    return _cancel_locked(account, order, to=OrderStatus.EXPIRED, actor=None, reason=reason)


def _cancel_locked(account: TradingAccount, order: Order, *, to: str, actor, reason: str) -> Order:
    if order.status not in WORKING:
        raise OrderNotWorking(order, "cancelled" if to == OrderStatus.CANCELLED else "expired")
    from orders.tasks import cancel_at_broker

    if order.status == OrderStatus.CANCEL_PENDING:  # asked already: the broker is asked again
        transaction.on_commit(partial(cancel_at_broker.delay, order.pk))
        return order
    if not order.broker_order_id:
        _block(account, order, NONE_BLOCKED)
        order_transition(order, to, actor=actor, reason=reason)
        return order
    change = {"to": to, "reason": reason}
    if order.status == OrderStatus.MODIFY_PENDING:  # its answer may still come: kept to apply
        change["modify"] = order.pending_change
    _request(
        order, OrderStatus.CANCEL_PENDING, change=change, actor=actor,
        action="order.cancel_requested", reason=reason,
    )  # fmt: skip

    transaction.on_commit(partial(cancel_at_broker.delay, order.pk))
    return order


@locks.spine_transaction
def order_cancel_answered(*, order: Order, cancelled: bool, reason: str = "") -> Order:
    """Record the broker's answer to a cancel, or a cancel of its own (the unfilled rest of an
    IOC, one found by reconciliation).

    Cancelled: the funds are released and the order is CANCELLED (EXPIRED, if the close asked).
    Refused, too late: a CANCEL_PENDING order goes back to the status it worked in; a fill that
    came meanwhile was applied as usual, and a filled order is COMPLETE already. Idempotent:
    an order no longer working, or not waiting for a cancel, is left as it is."""
    account, order = locks.account_and_order(order.pk, order.account_id)
    if order.status not in WORKING:
        return order
    asked = order.pending_change if order.status == OrderStatus.CANCEL_PENDING else {}
    if cancelled:
        _block(account, order, NONE_BLOCKED)
        _answered(
            order,
            asked.get("to", OrderStatus.CANCELLED),
            reason=reason or asked.get("reason", "cancelled at the broker"),
        )
    elif order.status == OrderStatus.CANCEL_PENDING:
        superseded = asked.get("modify")
        if superseded:  # the funds go back to what the order is at the broker
            applied = superseded.get("applied", False)
            _block(account, order, _requirement(order, superseded, applied=applied))
        _answered(
            order, order.pending_from, action="order.cancel_refused",
            reason=reason or "the broker refused the cancel",
        )  # fmt: skip
    return order


def order_modify(
    *, order: Order, actor=None, quantity: int | None = None, price: Decimal | None = None,
    trigger_price: Decimal | None = None,
) -> Order:  # fmt: skip
    """Change the quantity, price or trigger of a working order.

    The checks run now, as for a new order in its place, and refuse with the same errors. An
    order the broker has not received changes at once, its funds re-blocked to match. One at
    the broker becomes MODIFY_PENDING, the change recorded on it and its funds blocked at the
    larger of the old and the new requirement; the broker is asked after commit
    (``orders.tasks.modify_at_broker``) and ``order_modify_answered`` applies or reverts it.

    The quotes the checks need are fetched first; the locks are taken after."""
    instrument = Instrument.objects.get(pk=order.instrument_id)
    prices = _prices_before_lock(order.account, instrument)
    return _modify_locked(order.pk, order.account_id, prices, actor, quantity, price, trigger_price)


@locks.spine_transaction
def _modify_locked(order_pk, account_pk, prices, actor, quantity, price, trigger_price) -> Order:
    account, order = locks.account_and_order(order_pk, account_pk)
    if order.status not in WORKING or order.status == OrderStatus.CANCEL_PENDING:
        raise OrderNotWorking(order, "modified")
    if order.status == OrderStatus.MODIFY_PENDING:
        raise OrderPending(order, "the broker's answer to its last change")
    if not order.broker_order_id and _submission_in_flight(order):
        raise OrderPending(order, "the broker's answer to its submission")
    changed = OrderRequest(
        exchange=order.exchange,
        tradingsymbol=order.tradingsymbol,
        transaction_type=order.transaction_type,
        order_type=order.order_type,
        product=order.product,
        validity=order.validity,
        quantity=quantity if quantity is not None else order.quantity,
        price=price if price is not None else order.price,
        trigger_price=trigger_price if trigger_price is not None else order.trigger_price,
        algo_id=order.algo_id,
    )
    errors = request_errors(changed, order.instrument)
    if changed.quantity <= order.filled_quantity:
        errors.setdefault("quantity", []).append(
            f"must be more than the {order.filled_quantity} already filled"
        )
    if errors:
        raise OrderInputError(errors)
    quote = prices[order.instrument.key]
    today = timezone.localtime(timezone.now(), calendar.IST).date()
    remaining = OrderRequest(
        **{**changed.__dict__, "quantity": changed.quantity - order.filled_quantity}
    )
    needed = required_funds(instrument=order.instrument, request=remaining, quote=quote, on=today)
    book = account_book(account.pk)
    available = funds_of(account, on=today, book=book)["available"] + order.blocked_amount
    if needed > available:
        raise OrderInputError({"quantity": [f"needs {needed} of funds; {available} is available"]})
    # The modified order is checked as if placed anew in place of the old one: a small order
    # made large, or a protective stop grown under a reduce-only switch, is refused.
    rejections = _pre_trade_checks(
        account=account, instrument=order.instrument, request=remaining, quote=quote,
        prices=prices, book=book, replacing=order,
    )  # fmt: skip
    if rejections:
        raise ModifyRejected(order, rejections)
    change = {
        "quantity": changed.quantity,
        "price": _text(changed.price),
        "trigger_price": _text(changed.trigger_price),
        "filled": order.filled_quantity,
        "blocked": str(needed),
        "quantity_before": order.quantity,
        "blocked_before": str(order.blocked_amount),
    }
    if not order.broker_order_id:  # its submission will send it as changed
        before = _modify_fields(order, change)
        _block(account, order, needed)
        order.save(
            update_fields=["quantity", "price", "trigger_price", "blocked_amount", "updated_at"]
        )
        audit_record(
            action="order.modified", obj=order, actor=actor, before=before,
            after=_fields(order),
        )  # fmt: skip
        return order
    _block(account, order, max(order.blocked_amount, needed))
    _request(
        order, OrderStatus.MODIFY_PENDING, change=change, actor=actor,
        action="order.modify_requested", requested=_fields(change),
    )  # fmt: skip
    from orders.tasks import modify_at_broker

    transaction.on_commit(partial(modify_at_broker.delay, order.pk))
    return order


@locks.spine_transaction
def order_modify_answered(*, order: Order, applied: bool) -> Order:
    """Record the broker's answer to a change (MODIFY_PENDING). Applied: the order takes the
    new quantity, price and trigger, its funds re-blocked to the new requirement (for what is
    left unfilled now). Refused: it keeps the old ones and their requirement. Either way it goes
    back to the status it worked in. Idempotent: a change no longer pending changes nothing.

    A change a cancel superseded (CANCEL_PENDING) that the broker applied still updates the
    order, so a refused cancel leaves it as the broker holds it."""
    account, order = locks.account_and_order(order.pk, order.account_id)
    if order.status == OrderStatus.MODIFY_PENDING:
        _modify_answer_locked(account, order, applied=applied)
    elif order.status == OrderStatus.CANCEL_PENDING and applied:
        superseded = order.pending_change.get("modify")
        unapplied = superseded and not superseded.get("applied")
        if unapplied and superseded["quantity"] > order.filled_quantity:
            before = _modify_fields(order, superseded)
            order.pending_change = {
                **order.pending_change,
                "modify": {**superseded, "applied": True},
            }
            order.save(update_fields=MOVED_FIELDS)
            audit_record(action="order.modified", obj=order, before=before, after=_fields(order))
    return order


def _modify_answer_locked(account: TradingAccount, order: Order, *, applied: bool) -> None:
    change = order.pending_change
    applies = applied and change["quantity"] > order.filled_quantity
    was = _modify_fields(order, change) if applies else _fields(order)
    _block(account, order, _requirement(order, change, applied=applies))
    _answered(
        order, order.pending_from,
        action="order.modified" if applies else "order.modify_refused",
        was=was, now=_fields(order),
    )  # fmt: skip


def _submission_in_flight(order: Order) -> bool:
    """Whether the order's submission was tried and not yet answered: the broker may be
    receiving it as it was."""
    outbox = locks.outbox(order.pk)
    return outbox is not None and outbox.attempts > 0 and outbox.sent_at is None


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _fields(source: Order | dict) -> dict:
    """Quantity, price and trigger of an order or of a requested change, for the audit."""
    get = source.get if isinstance(source, dict) else partial(getattr, source)
    return {
        "quantity": get("quantity"),
        "price": str(get("price") or ""),
        "trigger_price": str(get("trigger_price") or ""),
    }


def _modify_fields(order: Order, change: dict) -> dict:
    """Give ``order`` the change's quantity, price and trigger; returns the old ones."""
    before = _fields(order)
    order.quantity = change["quantity"]
    order.price = None if change["price"] is None else Decimal(change["price"])
    order.trigger_price = (
        None if change["trigger_price"] is None else Decimal(change["trigger_price"])
    )
    return before


def _scaled(amount: Decimal, remaining_then: int, remaining_now: int) -> Decimal:
    """What a requirement of ``amount`` for ``remaining_then`` is for ``remaining_now``."""
    if remaining_now <= 0 or remaining_then <= 0:
        return NONE_BLOCKED
    return (amount * remaining_now / remaining_then).quantize(PAISA, ROUND_UP)


def _requirement(order: Order, change: dict, *, applied: bool) -> Decimal:
    """The funds ``order`` blocks once the broker answered ``change``, after the fills since it
    was asked: the new requirement if applied (``order`` already has the new quantity), else
    the old one."""
    if applied:
        amount, asked_for = Decimal(change["blocked"]), change["quantity"]
    else:
        amount, asked_for = Decimal(change["blocked_before"]), change["quantity_before"]
    return _scaled(amount, asked_for - change["filled"], order.pending_quantity)


def order_trigger_reached(*, order: Order) -> None:
    """A stop order's trigger was reached at the exchange with nothing filled: it is OPEN now,
    or will be once the request it waits on is refused. The caller holds the order's locks."""
    if order.status == OrderStatus.TRIGGER_PENDING:
        order_transition(order, OrderStatus.OPEN, reason="trigger price reached")
    elif order.status in PENDING and order.pending_from == OrderStatus.TRIGGER_PENDING:
        order.pending_from = OrderStatus.OPEN
        order.save(update_fields=["pending_from", "updated_at"])


class ModifyRejected(DomainError, ValueError):
    """A modification the pre-trade checks refuse; the order stays as it was."""

    problem_type = "order-rejected"

    def __init__(self, order: Order, rejections: list[Rejection]) -> None:
        self.order, self.rejections = order, [r.as_dict() for r in rejections]
        reasons = " ".join(r.message for r in rejections)
        super().__init__(
            f"Order {order.pk} was not modified: {reasons}",
            extra={"order_id": order.pk, "rejections": self.rejections},
        )


# --- Fills -------------------------------------------------------------------------------------


class FillRejected(DomainError, ValueError):
    """A fill that cannot belong to its order (too large, or the order is no longer working)."""

    problem_type = "conflict"


@locks.spine_transaction
def fill_apply(
    *,
    order: Order,
    broker_fill_id: str,
    quantity: int,
    price: Decimal,
    filled_at: datetime | None = None,
) -> Fill:
    """Record one execution: the fill, the order's progress, the position, the ledger, and one
    audit event (the order's new status, carrying the fill and its ledger lines).

    Idempotent per broker fill id: the same fill applied twice is recorded once.
    """
    account, order = locks.account_and_order(order.pk, order.account_id)
    fills = list(order.fills.all())
    existing = next((f for f in fills if f.broker_fill_id == broker_fill_id), None)
    if existing:
        return existing
    if order.status not in WORKING:
        raise FillRejected(
            f"order {order.pk} is {order.status}; fill {broker_fill_id} does not apply"
        )
    if order.status == OrderStatus.MODIFY_PENDING and quantity > order.pending_quantity:
        # A fill beyond the old quantity: the broker has applied the change.
        _modify_answer_locked(account, order, applied=True)
    if quantity <= 0 or quantity > order.pending_quantity:
        raise FillRejected(
            f"fill of {quantity} on order {order.pk} with {order.pending_quantity} pending"
        )
    filled_at = filled_at or timezone.now()
    trade_date = timezone.localtime(filled_at, calendar.IST).date()
    breakdown = charges_for_fill(
        rates=charge_rates(),
        plans=brokerage_plans(),
        plan_code=account.brokerage_plan,
        trade_date=trade_date,
        exchange=order.exchange,
        product=order.product,
        side=order.transaction_type,
        quantity=quantity,
        price=price,
        brokerage_already_charged=sum((Decimal(f.charges["brokerage"]) for f in fills), Decimal(0)),
    )
    fill = Fill.objects.create(
        order=order,
        account=account,
        broker_fill_id=broker_fill_id,
        quantity=quantity,
        price=price,
        charges=breakdown.as_dict(),
        charges_total=breakdown.total,
        trade_date=trade_date,
        filled_at=filled_at,
    )

    pending_before = order.pending_quantity
    total_filled = order.filled_quantity + quantity
    order.average_price = (
        (order.average_price * order.filled_quantity + price * quantity) / total_filled
    ).quantize(Decimal("0.0001"), ROUND_HALF_EVEN)
    order.filled_quantity = total_filled
    account.blocked -= order.blocked_amount
    kept = order.blocked_amount * order.pending_quantity / pending_before
    order.blocked_amount = kept.quantize(PAISA, ROUND_UP)
    account.blocked += order.blocked_amount
    status_before = order.status
    if order.filled_quantity == order.quantity:
        order.pending_from, order.pending_change, order.requested_at = "", {}, None
        _move(order, OrderStatus.COMPLETE)
    elif order.status in PENDING:  # the request still waits; refused, it is partly filled
        order.pending_from = OrderStatus.PARTIALLY_FILLED
        _move(order, order.status)
    else:
        _move(order, OrderStatus.PARTIALLY_FILLED)
    order.save(update_fields=MOVED_FIELDS)

    realized = _position_apply(account, order, quantity, price, charges=breakdown.total)
    entries = [
        LedgerEntry(account=account, kind=kind, amount=amount, order=order, fill=fill)
        for kind, amount in _fill_ledger_lines(order, quantity, price, realized, breakdown)
    ]
    LedgerEntry.objects.bulk_create(entries)
    account.cash_balance += sum((e.amount for e in entries), Decimal("0.00"))
    account.save(update_fields=["cash_balance", "blocked"])
    partly = order.status != OrderStatus.COMPLETE  # a request may still be pending
    audit_record(
        action="order.partially_filled" if partly else "order.complete",
        obj=order,
        before={"status": status_before},
        after={
            "status": order.status,
            "filled_quantity": order.filled_quantity,
            "fill": {
                "id": fill.pk,
                "broker_fill_id": broker_fill_id,
                "quantity": quantity,
                "price": str(price),
                "charges": breakdown.as_dict(),
            },
            "ledger": [{"kind": e.kind, "amount": str(e.amount)} for e in entries],
            "balance": str(account.cash_balance),
        },
    )
    return fill


def _fill_ledger_lines(order, quantity, price, realized, breakdown) -> list[tuple[str, Decimal]]:
    """The ledger lines of one fill: the trade's value (delivery) or its realized P&L
    (intraday), then each charge as a debit."""
    value = (price * quantity).quantize(PAISA)
    lines = []
    if order.product == "MIS":
        if realized:
            lines.append((LedgerKind.REALIZED_PNL, realized))
    elif order.transaction_type == "BUY":
        lines.append((LedgerKind.TRADE_DEBIT, -value))
    else:
        lines.append((LedgerKind.TRADE_CREDIT, value))
    for kind, amount in breakdown.as_dict().items():
        if kind != "total" and Decimal(amount):
            lines.append((kind, -Decimal(amount)))
    return lines


def _position_apply(
    account: TradingAccount, order: Order, quantity: int, price: Decimal, *, charges: Decimal
) -> Decimal:
    """Update the position of the fill's product, and its charges; return the P&L it realized
    (gross of charges).

    A delivery position is the day's net delivery trades: a sale beyond the day's buys shows
    as a negative quantity and is settled against holdings at T+1 (``holdings_settle``).
    """
    position = locks.position(
        account_pk=account.pk, instrument_pk=order.instrument_id, product=order.product
    )
    state = PositionState(position.quantity, position.average_price, position.realized_pnl)
    after = position_after_fill(state, side=order.transaction_type, quantity=quantity, price=price)
    realized = after.realized_pnl - position.realized_pnl
    position.quantity, position.average_price = after.quantity, after.average_price
    position.realized_pnl = after.realized_pnl
    position.charges += charges
    if order.transaction_type == "BUY":
        position.day_buy_quantity += quantity
    else:
        position.day_sell_quantity += quantity
    position.save()
    return realized


def cash_from_ledger(account: TradingAccount) -> Decimal:
    """The account's cash recomputed from its ledger, with what archives released from it
    carried forward (the stored balance must always equal it)."""
    online = account.ledger.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")
    carried = account.carried_forward.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")
    return online + carried
