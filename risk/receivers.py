"""Signal receivers of the risk app, connected in ``RiskConfig.ready``."""

from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from orders.signals import order_rejected
from risk.models import Desk
from risk.selectors import desk_leaving_refusal
from risk.services import FourEyesViolation, order_rate_breached


@receiver(order_rejected, dispatch_uid="risk.order_rate_breached")
def on_order_rejected(sender, *, order, rejections, **kwargs) -> None:
    order_rate_breached(order=order, rejections=rejections)


@receiver(m2m_changed, sender=Desk.accounts.through, dispatch_uid="risk.desk_leaving")
def refuse_leaving_a_desk_with_limits(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    """The backstop for code and the shell (the admin's form says it first): an account does
    not leave a desk whose limits are in force, as that would lift them without four eyes."""
    if action not in ("pre_remove", "pre_clear"):
        return
    if reverse:  # account.desks.remove(...) or .clear()
        desks = instance.desks.all() if pk_set is None else Desk.objects.filter(pk__in=pk_set)
        leaving = {desk: [instance] for desk in desks}
    else:
        accounts = instance.accounts.all()
        leaving = {instance: list(accounts if pk_set is None else accounts.filter(pk__in=pk_set))}
    for desk, accounts in leaving.items():
        refusal = desk_leaving_refusal(desk=desk, leaving=accounts)
        if refusal:
            raise FourEyesViolation(refusal)
