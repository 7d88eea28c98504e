"""The paper exchange: the default broker adapter, matching orders against live quotes.

It keeps its own book (``PaperOrder``) and fills by the rules in ``orders.matching``:
market orders at the touch with slippage, limit orders when marketable, stops on their
trigger, partial fills by the quoted size, the rest of an IOC cancelled. Resting orders
are matched again on every quote update, through the feed's ``quotes_published`` hook.
"""

import time

from django.conf import settings
from django.db import transaction

from marketdata.pricecache import quote_get
from marketdata.quotes import Quote
from orders import locks
from orders.choices import OrderStatus
from orders.execution import BrokerOrderState
from orders.matching import MatchingConfig, Touch, WorkingOrder, match
from orders.models import Order, PaperOrder

STATES = {
    PaperOrder.Status.WORKING: "working",
    PaperOrder.Status.FILLED: "filled",
    PaperOrder.Status.CANCELLED: "cancelled",
}


def _state(paper: PaperOrder) -> BrokerOrderState:
    return BrokerOrderState(
        paper.exchange_order_id, STATES[paper.status], paper.quantity - paper.remaining
    )


class PaperExchange:
    name = "paper"

    def submit(self, order: Order) -> BrokerOrderState:
        if settings.PAPER_LATENCY_MS:  # a simulated round trip to the exchange
            time.sleep(settings.PAPER_LATENCY_MS / 1000)
        paper, _ = PaperOrder.objects.get_or_create(
            order=order,
            defaults={
                "exchange_order_id": f"PAPER{order.pk:010d}",
                "quantity": order.quantity,
                "price": order.price,
                "trigger_price": order.trigger_price,
                "remaining": order.pending_quantity,
            },
        )
        return _state(paper)

    def modify(self, order: Order) -> None:
        paper = locks.paper_order(order=order)
        paper.quantity, paper.price, paper.trigger_price = (
            order.quantity,
            order.price,
            order.trigger_price,
        )
        paper.remaining = order.quantity - order.filled_quantity
        paper.save(update_fields=["quantity", "price", "trigger_price", "remaining", "updated_at"])

    def cancel(self, order: Order) -> None:
        PaperOrder.objects.filter(order=order, status=PaperOrder.Status.WORKING).update(
            status=PaperOrder.Status.CANCELLED
        )

    def status(self, order: Order) -> BrokerOrderState | None:
        paper = PaperOrder.objects.filter(order=order).first()
        return _state(paper) if paper else None


def _config() -> MatchingConfig:
    return MatchingConfig(
        slippage_bps=settings.PAPER_SLIPPAGE_BPS, seed=settings.PAPER_SEED, size_jitter=True
    )


def _touch(quote: Quote, tick) -> Touch:
    return Touch(
        last_price=quote.last_price,
        bid=quote.bid,
        bid_quantity=quote.bid_quantity,
        ask=quote.ask,
        ask_quantity=quote.ask_quantity,
        tick_size=tick,
        sequence=int(quote.timestamp.timestamp() * 1000),
    )


def paper_match(paper_id: int, quote: Quote) -> int:
    """Match one resting paper order against ``quote``; returns the number of executions."""
    from orders.services import fill_apply, order_cancel, order_transition

    with transaction.atomic():
        held = Order.objects.only("pk", "account_id").get(paper__pk=paper_id)
        _, order = locks.account_and_order(held.pk, held.account_id)
        paper = locks.paper_order(pk=paper_id)
        if paper.status != PaperOrder.Status.WORKING or paper.remaining == 0:
            return 0
        working = WorkingOrder(
            order_id=str(order.pk),
            side=order.transaction_type,
            order_type=order.order_type,
            validity=order.validity,
            remaining=paper.remaining,
            lot_size=order.instrument.lot_size,
            price=paper.price,
            trigger_price=paper.trigger_price,
            triggered=paper.triggered,
        )
        result = match(working, _touch(quote, order.instrument.tick_size), _config())
        newly_triggered = result.triggered and not paper.triggered
        paper.triggered, paper.remaining = result.triggered, result.remaining
        if (
            newly_triggered
            and not result.executions
            and order.status == OrderStatus.TRIGGER_PENDING
        ):
            order_transition(order, OrderStatus.OPEN, reason="trigger price reached")
        for execution in result.executions:
            paper.executions += 1
            fill_apply(
                order=order,
                broker_fill_id=f"{paper.exchange_order_id}-{paper.executions}",
                quantity=execution.quantity,
                price=execution.price,
                filled_at=quote.timestamp,
            )
        if paper.remaining == 0:
            paper.status = PaperOrder.Status.FILLED
        elif result.cancel_remaining:
            paper.status = PaperOrder.Status.CANCELLED
        paper.save()
        if paper.status == PaperOrder.Status.CANCELLED:
            order_cancel(order=order, reason="IOC: the unfilled rest was cancelled")
        return len(result.executions)


def paper_match_order(order_id: int) -> int:
    """Match a just-submitted order against the current quote (a marketable order fills now)."""
    paper = (
        PaperOrder.objects.filter(order_id=order_id, status=PaperOrder.Status.WORKING)
        .select_related("order__instrument")
        .first()
    )
    if paper is None:
        return 0
    return paper_match(paper.pk, quote_get(paper.order.instrument.key))


def paper_on_quotes(sender, quotes: dict[str, Quote], **kwargs) -> int:
    """The feed hook: re-check every resting paper order of the instruments that moved."""
    done = 0
    working = PaperOrder.objects.filter(status=PaperOrder.Status.WORKING).values_list(
        "pk", "order__exchange", "order__tradingsymbol"
    )
    for paper_id, exchange, symbol in working:
        quote = quotes.get(f"{exchange}:{symbol}")
        if quote is not None:
            done += paper_match(paper_id, quote)
    return done
