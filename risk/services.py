"""Writes of the risk app: limit changes under maker-checker, and kill switches.

A limit takes effect only when a second risk manager approves it; a kill switch blocks new
orders at once, cancels the open ones through the order path, and is reset only by a risk
manager other than the one who tripped it. Every step is audited.
"""

from decimal import Decimal
from functools import partial

from django.db import transaction
from django.utils import timezone

from compliance.services import audit_record, audited_atomic
from orders import locks
from orders.choices import WORKING
from orders.locks import SELF
from orders.models import Order, TradingAccount
from risk.choices import KillSwitchLevel, KillSwitchMode, LimitKind
from risk.models import Breach, KillSwitch, LimitChange, RiskLimit, target_key
from risk.monitors import BREACHES
from risk.selectors import order_reduces_exposure
from tradingsite.errors import DomainError


class FourEyesViolation(DomainError, PermissionError):
    """The same person may not both make and check a change, or trip and reset a switch."""

    problem_type = "permission-denied"


class LimitInvalid(DomainError, ValueError):
    """A proposed limit that cannot be a limit (no value, no products)."""

    problem_type = "validation-error"

    def __init__(self, detail: str) -> None:
        super().__init__(f"value: {detail}", errors={"value": [detail]})


class AlreadyDecided(DomainError, ValueError):
    """A limit change already decided, or a kill switch already reset."""

    problem_type = "conflict"


def limit_propose(
    *, actor, scope: str, kind: str, reason: str, value: Decimal | None = None, products: str = "",
    desk=None, account=None, instrument=None, remove: bool = False,
) -> LimitChange:  # fmt: skip
    """Propose a limit (the maker). Nothing changes until another risk manager approves."""
    if kind == LimitKind.ALLOWED_PRODUCTS:
        if not remove and not products:
            raise LimitInvalid("allowed_products needs products, e.g. CNC,MIS")
    elif not remove and (value is None or value < 0):
        raise LimitInvalid(f"{kind} needs a value of zero or more")
    target_key(scope, desk=desk, account=account, instrument=instrument)  # a known scope
    with audited_atomic():
        change = LimitChange.objects.create(
            scope=scope,
            kind=kind,
            value=value,
            products=products,
            desk=desk,
            account=account,
            instrument=instrument,
            remove=remove,
            reason=reason,
            proposed_by=actor,
        )
        audit_record(
            action="risk.limit_proposed",
            obj=change,
            actor=actor,
            after={
                "scope": scope,
                "kind": kind,
                "value": str(value),
                "products": products,
                "remove": remove,
            },
        )
    return change


@audited_atomic()
def limit_decide(*, change: LimitChange, actor, approve: bool) -> LimitChange:
    """Approve or reject a proposed limit (the checker): never the proposer."""
    change = LimitChange.objects.select_for_update(of=SELF).get(pk=change.pk)
    if change.status != LimitChange.Status.PROPOSED:
        raise AlreadyDecided(f"this change is already {change.status}")
    if change.proposed_by_id == actor.pk:
        raise FourEyesViolation(
            "A limit change needs a second risk manager; you proposed this one."
        )
    change.status = LimitChange.Status.APPROVED if approve else LimitChange.Status.REJECTED
    change.decided_by, change.decided_at = actor, timezone.now()
    change.save()
    before = None
    if approve:
        target = target_key(
            change.scope, desk=change.desk, account=change.account, instrument=change.instrument
        )
        limits = RiskLimit.objects.select_for_update(of=SELF)
        current = limits.filter(target=target, kind=change.kind).first()
        before = {"value": str(current.value), "products": current.products} if current else None
        if change.remove:
            RiskLimit.objects.filter(target=target, kind=change.kind).delete()
        else:
            RiskLimit.objects.update_or_create(
                target=target,
                kind=change.kind,
                defaults={
                    "scope": change.scope,
                    "desk": change.desk,
                    "account": change.account,
                    "instrument": change.instrument,
                    "value": change.value,
                    "products": change.products,
                    "change": change,
                },
            )
    audit_record(
        action=f"risk.limit_{change.status}",
        obj=change,
        actor=actor,
        before=before,
        after={
            "kind": change.kind,
            "value": str(change.value),
            "products": change.products,
            "remove": change.remove,
        },
    )
    return change


def kill_switch_trip(
    *, level: str, reason: str, mode: str = KillSwitchMode.HALT, actor=None, account=None,
    instrument=None, algo_id: str = "", breaches: list[tuple[str, Decimal, Decimal]] = (),
    source: str = Breach.Source.MONITOR,
) -> tuple[KillSwitch | None, list[int]]:  # fmt: skip
    """Stop trading at ``level`` and cancel the open orders it covers; returns the switch and
    those orders' ids.

    HALT cancels every open order it covers and refuses new ones. REDUCE_ONLY keeps the
    working orders that only reduce their account's position (protective stops) and refuses
    new orders that would grow or flip it.

    An automatic trip passes the ``breaches`` (kind, limit, value) that caused it: they are
    recorded with the switch, and nothing is tripped (None, []) while that account or algo
    already has an active switch, so a breach that persists trips once.
    """

    with audited_atomic():
        if account is not None:  # its audit chain is written: the account's lock comes first
            locks.account(account.pk)
        elif breaches:
            locks.algo(algo_id)
        if (
            breaches
            and KillSwitch.objects.filter(
                level=level, account=account, algo_id=algo_id, reset_at__isnull=True
            ).exists()
        ):
            return None, []
        switch = KillSwitch.objects.create(
            level=level,
            mode=mode,
            reason=reason,
            tripped_by=actor if getattr(actor, "pk", None) else None,
            account=account,
            instrument=instrument,
            algo_id=algo_id,
        )
        for kind, limit, value in breaches:
            Breach.objects.create(
                source=source,
                kind=kind,
                account=account,
                algo_id=algo_id,
                limit=limit,
                value=value,
                kill_switch=switch,
            )
            BREACHES.labels(kind).inc()
        audit_record(
            action="risk.kill_switch_tripped",
            obj=switch,
            actor=actor,
            after={
                "level": level,
                "mode": mode,
                "reason": reason,
                "account": getattr(account, "code", ""),
                "instrument": getattr(instrument, "key", ""),
                "algo_id": algo_id,
                "breaches": [
                    {"kind": k, "limit": str(lim), "value": str(v)} for k, lim, v in breaches
                ],
            },
        )
    # Then account by account, each under its own lock (the order of orders.locks): an order
    # placed while the switch was being tripped either committed before the lock was granted,
    # and is cancelled here, or is placed after, and sees the switch.
    covered = Order.objects.filter(status__in=WORKING)
    if level == KillSwitchLevel.INSTRUMENT:
        covered = covered.filter(instrument=instrument)
    elif level == KillSwitchLevel.ALGO:
        covered = covered.filter(algo_id=algo_id)
    if level == KillSwitchLevel.ACCOUNT:
        accounts = [account.pk]
    else:  # every account, not only those with working orders now: one may be placing one
        accounts = TradingAccount.objects.order_by("pk").values_list("pk", flat=True)
    cancelled = []
    for account_pk in accounts:
        cancelled += _cancel_covered(account_pk, covered, mode, actor, f"kill switch: {reason}")
    return switch, cancelled


@locks.spine_transaction
def _cancel_covered(account_pk: int, covered, mode: str, actor, reason: str) -> list[int]:
    """Cancel the account's working orders that a switch covers (under reduce-only, those
    that could grow its positions), with the account locked; returns their ids."""
    from orders.services import order_cancel

    locks.account(account_pk)
    orders = locks.orders(covered.filter(account_id=account_pk).values_list("pk", flat=True))
    if mode == KillSwitchMode.REDUCE_ONLY:
        orders = [o for o in orders if not order_reduces_exposure(order=o)]
    for order in orders:
        order_cancel(order=order, actor=actor, reason=reason)
    return [order.pk for order in orders]


def order_rate_breached(*, order: Order, rejections: list) -> None:
    """An order refused for its rate trips the account's (or the algo's) kill switch once the
    placement commits: a runaway sender is halted, not merely throttled."""
    for rejection in rejections:
        if rejection.code not in ("ORDER_RATE", "ALGO_ORDER_RATE"):
            continue
        by_algo = rejection.code == "ALGO_ORDER_RATE"
        target = {"algo_id": order.algo_id} if by_algo else {"account": order.account}
        transaction.on_commit(
            partial(
                kill_switch_trip,
                level=KillSwitchLevel.ALGO if by_algo else KillSwitchLevel.ACCOUNT,
                reason=f"order rate above {rejection.limit} per second",
                breaches=[
                    (
                        LimitKind.ORDER_RATE_PER_SECOND,
                        Decimal(rejection.limit),
                        Decimal(rejection.value),
                    )
                ],
                source=Breach.Source.PRE_TRADE,
                **target,
            )
        )


@audited_atomic()
def kill_switch_reset(*, switch: KillSwitch, actor) -> KillSwitch:
    """Lift a kill switch; it must be a different risk manager from the one who tripped it."""
    if switch.account_id:  # its audit chain is the account's: that lock comes first
        locks.account(switch.account_id)
    switch = KillSwitch.objects.select_for_update(of=SELF).get(pk=switch.pk)
    if not switch.active:
        raise AlreadyDecided("this kill switch is already reset")
    if switch.tripped_by_id == actor.pk:
        raise FourEyesViolation(
            "A kill switch is reset by a second risk manager, not the one who tripped it."
        )
    switch.reset_by, switch.reset_at = actor, timezone.now()
    switch.save()
    audit_record(
        action="risk.kill_switch_reset", obj=switch, actor=actor, after={"level": switch.level}
    )
    return switch
