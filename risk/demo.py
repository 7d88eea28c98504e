"""Demo data of the risk app: a desk, and limits put in force by maker-checker."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from orders.models import TradingAccount
from risk.choices import LimitKind, Scope
from risk.models import Desk, LimitChange
from risk.services import limit_decide, limit_propose

DEMO_REASON = "demo limits"
#: scope, kind, value, account code (or None)
DEMO_LIMITS = [
    (Scope.FIRM, LimitKind.MAX_ORDER_VALUE, Decimal("5000000"), None),
    (Scope.FIRM, LimitKind.FAT_FINGER_PCT, Decimal("10"), None),
    (Scope.ACCOUNT, LimitKind.MAX_DAILY_LOSS, Decimal("50000"), "TS0001"),
    (Scope.ACCOUNT, LimitKind.MAX_GROSS_EXPOSURE, Decimal("20000000"), "TS0002"),
]


@transaction.atomic
def seed(*, stdout, reset_passwords: bool = False) -> None:
    desk, _ = Desk.objects.get_or_create(name="Demo desk")
    desk.accounts.add(*TradingAccount.objects.filter(code__in=["TS0001", "TS0002"]))
    if LimitChange.objects.filter(reason=DEMO_REASON).exists():
        stdout.write("Risk limits: already present.")
        return
    users = get_user_model().objects
    maker, checker = users.get(username="risk"), users.get(username="risk2")
    for scope, kind, value, code in DEMO_LIMITS:
        account = TradingAccount.objects.get(code=code) if code else None
        change = limit_propose(
            actor=maker, scope=scope, kind=kind, value=value, account=account, reason=DEMO_REASON
        )
        limit_decide(change=change, actor=checker, approve=True)
    stdout.write(
        f"Risk limits: {len(DEMO_LIMITS)} proposed by risk and approved by risk2; desk 'Demo desk'."
    )
