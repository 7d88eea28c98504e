"""Reads of the risk app that other code shares."""

from django.db.models import Sum

from orders.models import Order, Position
from risk.checks import reduces_exposure
from risk.models import Desk, RiskLimit


def exposure_instrument_keys(*, account_pk: int) -> list[str]:
    """The keys of every instrument the account holds a position in or works an order in
    (what its exposure is valued on), in one query."""
    from orders.choices import WORKING

    held = Position.objects.filter(account_id=account_pk).exclude(quantity=0)
    working = Order.objects.filter(account_id=account_pk, status__in=WORKING)
    keys = (
        held.order_by()
        .values_list("instrument__exchange", "instrument__tradingsymbol")
        .union(working.order_by().values_list("exchange", "tradingsymbol"))
    )
    return [f"{exchange}:{symbol}" for exchange, symbol in keys]


def order_reduces_exposure(*, order: Order) -> bool:
    """Whether a working order only reduces its account's net position in its instrument
    (all products together), so a reduce-only kill switch keeps it working."""
    positions = Position.objects.filter(
        account_id=order.account_id, instrument_id=order.instrument_id
    )
    net = positions.aggregate(net=Sum("quantity"))["net"] or 0
    return reduces_exposure(side=order.transaction_type, quantity=order.pending_quantity, net=net)


def desk_leaving_refusal(*, desk: Desk, leaving) -> str:
    """Why these accounts may not leave the desk ("" if they may): leaving a desk whose limits
    are in force would lift those limits without a second risk manager."""
    if not leaving or desk.pk is None or not RiskLimit.objects.filter(desk=desk).exists():
        return ""
    codes = ", ".join(sorted(str(account) for account in leaving))
    return (
        f"{codes} cannot leave desk {desk}: its limits are in force, and leaving would lift "
        "them without a second risk manager. Propose account limits first, or propose "
        "removing the desk's limits."
    )
