"""The paper exchange: the default broker adapter, matching orders against live quotes.

It keeps its own book (``PaperOrder``) and fills by the rules in ``orders.matching``:
market orders at the touch with slippage, limit orders when marketable, stops on their
trigger, partial fills by the quoted size, the rest of an IOC cancelled.

A submitted order is matched at once against the current quote (the adapter's
``submitted`` hook, run by execution with no lock held). Resting orders are matched again on
every quote tick: the feed's ``quotes_published`` hook only queues one task per tick
(``orders.tasks.paper_match_tick``, on the execution queue) with the instruments that moved,
and the task matches each of their resting orders in its own short transaction.

Celery delivers a task at least once, so a tick may be matched twice, or late. Each paper
order records the timestamp of the last quote it was matched against (``matched_quote_at``,
a quote's identity: the feed stamps each instrument's quotes in increasing time), and a
quote no newer than that is not matched again: one quote fills an order at most once.
"""

import logging
import time
from collections.abc import Mapping
from datetime import datetime

from django.conf import settings
from django.db import transaction

from marketdata.pricecache import quote_get, quotes_cached
from marketdata.quotes import Quote
from orders import locks
from orders.choices import WORKING, OrderStatus
from orders.execution import BrokerOrderState
from orders.matching import MatchingConfig, Touch, WorkingOrder, match
from orders.models import Order, PaperOrder

logger = logging.getLogger(__name__)
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

    def modify(self, order: Order) -> bool:
        with transaction.atomic():
            paper = locks.paper_order(order=order)
            filled = paper.quantity - paper.remaining
            if paper.status != PaperOrder.Status.WORKING or order.quantity <= filled:
                return False
            paper.quantity, paper.price, paper.trigger_price = (
                order.quantity,
                order.price,
                order.trigger_price,
            )
            paper.remaining = order.quantity - filled
            paper.save(
                update_fields=["quantity", "price", "trigger_price", "remaining", "updated_at"]
            )
            return True

    def cancel(self, order: Order) -> bool:
        with transaction.atomic():
            paper = locks.paper_order(order=order)
            if paper.status == PaperOrder.Status.WORKING:
                paper.status = PaperOrder.Status.CANCELLED
                paper.save(update_fields=["status", "updated_at"])
            return paper.status == PaperOrder.Status.CANCELLED

    def submitted(self, order: Order) -> None:
        """A marketable order fills at once, against the current quote."""
        paper_match_order(order.pk)

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
    held = Order.objects.only("pk", "account_id").get(paper__pk=paper_id)
    return _match_locked(held.pk, held.account_id, paper_id, quote)


@locks.spine_transaction
def _match_locked(order_id: int, account_id: int, paper_id: int, quote: Quote) -> int:
    from orders.services import fill_apply, order_cancel_answered, order_trigger_reached

    _, order = locks.account_and_order(order_id, account_id)
    paper = locks.paper_order(pk=paper_id)
    if paper.status != PaperOrder.Status.WORKING or paper.remaining == 0:
        return 0
    # Ours must know the exchange has it (its acknowledgement recorded) and still work it.
    if order.status not in WORKING or order.status in (OrderStatus.ACCEPTED, OrderStatus.AMO):
        return 0
    # One quote, one match per order: a redelivered tick, or a late one older than a quote
    # this order has met, changes nothing. Checked and advanced under the paper row's lock,
    # in the transaction that applies the fill.
    if paper.matched_quote_at is not None and quote.timestamp <= paper.matched_quote_at:
        return 0
    paper.matched_quote_at = quote.timestamp
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
    if newly_triggered and not result.executions:
        order_trigger_reached(order=order)
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
        order_cancel_answered(
            order=order, cancelled=True, reason="IOC: the unfilled rest was cancelled"
        )
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


def paper_match_tick(moved: Mapping[str, str]) -> int:
    """Match every resting paper order of the instruments that moved in one quote tick
    (instrument key -> the tick's quote timestamp, ISO 8601) against the cached quotes, each
    order in its own transaction; returns the number of executions.

    An instrument whose cached quote is newer than the tick's is left to that later tick's
    task, so each quote is matched once however the tasks queue up."""
    quotes = {
        key: quote
        for key, quote in quotes_cached(moved).items()
        if quote.timestamp == datetime.fromisoformat(moved[key])
    }
    if not quotes:
        return 0
    symbols = {key.split(":", 1)[1] for key in quotes}
    working = (
        PaperOrder.objects.filter(
            status=PaperOrder.Status.WORKING, order__tradingsymbol__in=symbols
        )
        .order_by("pk")
        .values_list("pk", "order__exchange", "order__tradingsymbol")
    )
    done = 0
    for paper_id, exchange, symbol in working:
        quote = quotes.get(f"{exchange}:{symbol}")
        if quote is None:
            continue
        try:
            done += paper_match(paper_id, quote)
        except locks.AccountBusy:  # the next tick matches it
            logger.warning("paper order %s not matched this tick: account busy", paper_id)
    return done


def paper_on_quotes(sender, quotes: dict[str, Quote], **kwargs) -> None:
    """The feed hook: queue the tick's matching on the execution queue, one task per tick."""
    from orders.tasks import paper_match_tick as match_tick

    match_tick.delay({key: quote.timestamp.isoformat() for key, quote in quotes.items()})
