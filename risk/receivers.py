"""Signal receivers of the risk app, connected in ``RiskConfig.ready``."""

from django.dispatch import receiver

from orders.signals import order_rejected
from risk.services import order_rate_breached


@receiver(order_rejected, dispatch_uid="risk.order_rate_breached")
def on_order_rejected(sender, *, order, rejections, **kwargs) -> None:
    order_rate_breached(order=order, rejections=rejections)
