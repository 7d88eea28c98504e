"""Reads of the risk app that other code shares."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import QuerySet, Sum

from orders.models import Order, Position
from risk.checks import reduces_exposure
from risk.models import Desk, RiskLimit


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


@dataclass(frozen=True)
class ActiveSwitch:
    """A kill switch that is tripped and not reset, as the pre-trade checks see it."""

    pk: int
    level: str
    mode: str
    reason: str


@dataclass
class RiskState:
    """What the pre-trade checks read of the risk tables for one order, in one statement:
    the limit rows that apply, the active kill switches, the day's realized P&L and
    charges, and the orders of the last second (the account's, and the algo ID's)."""

    limits: list[tuple[str, Decimal | None, str]] = field(default_factory=list)
    switches: list[ActiveSwitch] = field(default_factory=list)
    day_pnl: Decimal = Decimal(0)
    orders_last_second: int = 0
    algo_orders_last_second: int = 0


_RISK_STATE_SQL = """
SELECT 'L', l.id, l.kind, l.products, '', l.value, 0
  FROM risk_risklimit l
 WHERE l.target IN ('firm', %(account_target)s, %(instrument_target)s)
    OR l.desk_id IN (SELECT d.desk_id FROM risk_desk_accounts d
                      WHERE d.tradingaccount_id = %(account)s)
UNION ALL
SELECT 'S', k.id, k.level, k.mode, k.reason, NULL, 0
  FROM risk_killswitch k
 WHERE k.reset_at IS NULL
   AND (k.level = 'global'
        OR (k.level = 'account' AND k.account_id = %(account)s)
        OR (k.level = 'instrument' AND k.instrument_id = %(instrument)s)
        OR (k.level = 'algo' AND %(algo)s <> '' AND k.algo_id = %(algo)s))
UNION ALL
SELECT 'F', 0, '', '', '',
       (SELECT COALESCE(SUM(e.amount), 0) FROM orders_ledgerentry e
         WHERE e.account_id = %(account)s AND e.kind IN ({day_pnl_kinds})
           AND e.posted_at >= %(day_start)s AND e.posted_at < %(day_end)s),
       (SELECT COUNT(*) FROM orders_order o
         WHERE o.account_id = %(account)s AND o.created_at >= %(second_ago)s
           AND o.status <> 'REJECTED')
UNION ALL
SELECT 'A', 0, '', '', '', NULL, COUNT(*) FROM orders_order o
 WHERE %(algo)s <> '' AND o.algo_id = %(algo)s AND o.created_at >= %(second_ago)s
   AND o.status <> 'REJECTED'
"""


def risk_state(
    *, account_pk: int, instrument_pk: int, algo_id: str, day_start: datetime, now: datetime
) -> RiskState:
    """The risk tables' part of an order's pre-trade context (see :class:`RiskState`).

    Run it with the account's lock held, and the algo ID's lock when there is one, so the
    counts cannot race. ``day_start`` is the start of the trading day (IST midnight)."""
    from risk.checks import DAY_PNL_KINDS

    params = {
        "account": account_pk,
        "account_target": f"account:{account_pk}",
        "instrument_target": f"account:{account_pk}:instrument:{instrument_pk}",
        "instrument": instrument_pk,
        "algo": algo_id,
        "day_start": day_start,
        "day_end": day_start + timedelta(days=1),
        "second_ago": now - timedelta(seconds=1),
    }
    kinds = {f"kind{n}": str(kind) for n, kind in enumerate(DAY_PNL_KINDS)}
    sql = _RISK_STATE_SQL.format(day_pnl_kinds=", ".join(f"%({k})s" for k in kinds))
    state = RiskState()
    seen: set[int] = set()
    with connection.cursor() as cursor:
        cursor.execute(sql, {**params, **kinds})
        for tag, pk, a, b, c, number, count in cursor:
            if tag == "L" and pk not in seen:
                seen.add(pk)
                state.limits.append((a, None if number is None else Decimal(number), b))
            elif tag == "S":
                state.switches.append(ActiveSwitch(pk, a, b, c))
            elif tag == "F":
                state.day_pnl = Decimal(number or 0)
                state.orders_last_second = count
            elif tag == "A":
                state.algo_orders_last_second = count
    return state


# --- The risk breaches register (compliance.reports.registers) -------------------------------


def _risk_scope(
    rows: QuerySet,
    *,
    start: datetime | None,
    end: datetime | None,
    at: str,
    account_id: int | None,
    client_id: int | None,
    algo_id: str,
) -> QuerySet:
    if start:
        rows = rows.filter(**{f"{at}__gte": start})
    if end:
        rows = rows.filter(**{f"{at}__lt": end})
    if account_id:
        rows = rows.filter(account_id=account_id)
    if client_id:
        rows = rows.filter(account__client_id=client_id)
    if algo_id:
        rows = rows.filter(algo_id=algo_id)
    return rows.select_related("account").order_by(at, "id")


def breaches_for_register(
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    account_id: int | None = None,
    client_id: int | None = None,
    algo_id: str = "",
) -> QuerySet:
    """Breaches detected from ``start`` to before ``end``, narrowed by the filters set,
    oldest first, with the kill switch each tripped."""
    from risk.models import Breach

    rows = _risk_scope(
        Breach.objects.all(), start=start, end=end, at="detected_at", account_id=account_id,
        client_id=client_id, algo_id=algo_id,
    )  # fmt: skip
    return rows.select_related("account", "kill_switch")


def kill_switches_for_register(
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    account_id: int | None = None,
    client_id: int | None = None,
    algo_id: str = "",
    reset: bool = False,
) -> QuerySet:
    """Kill switches tripped (or, with ``reset``, reset) from ``start`` to before ``end``,
    narrowed by the filters set, oldest first, with who tripped and who reset them."""
    from risk.models import KillSwitch

    rows = KillSwitch.objects.filter(reset_at__isnull=False) if reset else KillSwitch.objects
    rows = _risk_scope(
        rows.all(), start=start, end=end, at="reset_at" if reset else "tripped_at",
        account_id=account_id, client_id=client_id, algo_id=algo_id,
    )  # fmt: skip
    return rows.select_related("account", "instrument", "tripped_by", "reset_by")
