"""Post-trade monitors: each account's mark-to-market, day P&L and exposure, every 30 seconds
in session. A breach of the daily-loss or exposure limit trips the account's kill switch
(automatically, so any risk manager may reset it) and counts in ``risk_breaches_total``,
which an alert can fire on."""

from dataclasses import asdict, dataclass, field
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone
from prometheus_client import Counter, Gauge

from orders.models import LedgerEntry, Position, TradingAccount
from risk.checks import DAY_PNL_KINDS, effective_limits
from risk.choices import KillSwitchLevel, KillSwitchMode, LimitKind
from risk.models import KillSwitch

BREACHES = Counter(
    "risk_breaches_total", "Post-trade limit breaches that tripped a kill switch", ["kind"]
)
DAY_PNL = Gauge(
    "risk_account_day_pnl", "Day P&L (realized, charges and MTM) per account", ["account"]
)
PAISA = Decimal("0.01")
WATCHED = {
    LimitKind.MAX_DAILY_LOSS: "day_loss",
    LimitKind.MAX_GROSS_EXPOSURE: "gross_exposure",
    LimitKind.MAX_NET_EXPOSURE: "net_exposure",
}


@dataclass
class RiskSnapshot:
    account: str
    realized_and_charges: Decimal
    mark_to_market: Decimal
    day_pnl: Decimal
    day_loss: Decimal
    gross_exposure: Decimal
    net_exposure: Decimal
    open_positions: int
    limits: dict[str, str]
    breaches: list[str] = field(default_factory=list)
    kill_switch_active: bool = False
    kill_switch_mode: str = ""  # of the strictest active account switch: halt over reduce_only

    def as_dict(self) -> dict:
        return {k: str(v) if isinstance(v, Decimal) else v for k, v in asdict(self).items()}


def account_snapshot(account: TradingAccount) -> RiskSnapshot:
    """The account's risk now, from its positions, today's ledger and the price cache."""
    from marketdata.pricecache import quote_get_many

    positions = list(
        Position.objects.filter(account=account).exclude(quantity=0).select_related("instrument")
    )
    keys = sorted({p.instrument.key for p in positions})
    prices = {k: q.last_price for k, q in quote_get_many(keys).items()} if keys else {}
    realized = LedgerEntry.objects.filter(
        account=account, kind__in=DAY_PNL_KINDS, posted_at__date=timezone.localdate()
    ).aggregate(total=Sum("amount"))["total"] or Decimal(0)
    mtm = sum(
        ((prices[p.instrument.key] - p.average_price) * p.quantity for p in positions), Decimal(0)
    )
    gross = sum((abs(p.quantity) * prices[p.instrument.key] for p in positions), Decimal(0))
    net = abs(sum((p.quantity * prices[p.instrument.key] for p in positions), Decimal(0)))
    day_pnl = (realized + mtm).quantize(PAISA)
    limits, _ = effective_limits(account)
    snapshot = RiskSnapshot(
        account=account.code,
        realized_and_charges=realized.quantize(PAISA),
        mark_to_market=mtm.quantize(PAISA),
        day_pnl=day_pnl,
        day_loss=max(-day_pnl, Decimal(0)),
        gross_exposure=gross.quantize(PAISA),
        net_exposure=net.quantize(PAISA),
        open_positions=len(keys),
        limits={kind: str(limits[kind]) for kind in WATCHED if kind in limits},
    )
    modes = set(
        KillSwitch.objects.filter(
            level=KillSwitchLevel.ACCOUNT, account=account, reset_at__isnull=True
        ).values_list("mode", flat=True)
    )
    if modes:
        snapshot.kill_switch_active = True
        snapshot.kill_switch_mode = (
            KillSwitchMode.HALT if KillSwitchMode.HALT in modes else KillSwitchMode.REDUCE_ONLY
        )
    snapshot.breaches = [
        kind
        for kind, figure in WATCHED.items()
        if kind in limits and getattr(snapshot, figure) > limits[kind]
    ]
    return snapshot


def monitors_run() -> dict:
    """Check every active account; trip the kill switch of each one in breach (once)."""
    from risk.services import kill_switch_trip

    checked, tripped = 0, []
    for account in TradingAccount.objects.filter(status=TradingAccount.Status.ACTIVE):
        snapshot = account_snapshot(account)
        checked += 1
        DAY_PNL.labels(account.code).set(float(snapshot.day_pnl))
        if snapshot.breaches and not snapshot.kill_switch_active:
            switch, _ = kill_switch_trip(
                level=KillSwitchLevel.ACCOUNT,
                account=account,
                reason="post-trade monitor: " + ", ".join(snapshot.breaches) + " breached",
                breaches=[
                    (kind, Decimal(snapshot.limits[kind]), getattr(snapshot, WATCHED[kind]))
                    for kind in snapshot.breaches
                ],
            )
            if switch:
                tripped.append(account.code)
    return {"checked": checked, "tripped": tripped}
