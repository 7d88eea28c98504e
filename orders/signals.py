"""Signals of the order core, for apps that react to orders without the core knowing them."""

from django.dispatch import Signal

#: Sent inside placement's transaction when an order is stored as REJECTED, with
#: ``order`` and ``rejections`` (the list of ``orders.validation.Rejection``).
order_rejected = Signal()
