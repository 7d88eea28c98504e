"""Reads of the risk app that other code shares."""

from django.db.models import Sum

from orders.models import Order, Position
from risk.checks import reduces_exposure


def order_reduces_exposure(*, order: Order) -> bool:
    """Whether a working order only reduces its account's net position in its instrument
    (all products together), so a reduce-only kill switch keeps it working."""
    positions = Position.objects.filter(
        account_id=order.account_id, instrument_id=order.instrument_id
    )
    net = positions.aggregate(net=Sum("quantity"))["net"] or 0
    return reduces_exposure(side=order.transaction_type, quantity=order.pending_quantity, net=net)
