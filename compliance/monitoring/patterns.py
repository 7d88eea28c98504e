"""The transaction-monitoring (PMLA) patterns, as pure functions over plain rows of one
look-back window.

Each takes the window's deposits and withdrawals (``MoneyRow``) or fills (``FillRow``),
built by ``compliance.monitoring.selectors`` and already cut to the rule's window, and the
rule's parameters, and returns the ``Finding``s an officer should look at: a subject (the
client, or for dormancy the account), a score, a summary in the desk's words and the
evidence (ledger entry and fill ids). Nothing here reads the database, so each pattern is
tested on planted rows (docs/compliance-monitoring.md).
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Protocol

from compliance.alerts.findings import Finding

__all__ = ["FillRow", "Finding", "MoneyRow"]

DEPOSIT, WITHDRAWAL = "deposit", "withdrawal"
HUNDRED = Decimal(100)
FOUR = Decimal("0.0001")
ZERO = Decimal(0)
#: at most this many references of each kind go into an alert's evidence (the largest);
#: its detail says how many there were
EVIDENCE_MAX = 200


@dataclass(frozen=True)
class MoneyRow:
    """A deposit or a withdrawal: the client's own money in or out (``amount`` is positive
    either way; the ledger posts withdrawals negative)."""

    id: int
    account_id: int
    client_id: int
    kind: str  # DEPOSIT | WITHDRAWAL
    amount: Decimal
    at: datetime


@dataclass(frozen=True)
class FillRow:
    id: int
    account_id: int
    client_id: int
    instrument_id: int
    symbol: str
    quantity: int
    price: Decimal
    at: datetime

    @property
    def value(self) -> Decimal:
        return self.price * self.quantity


class Liquidity(Protocol):
    """What ``illiquid_instruments`` reads of an instrument (marketdata's ``Liquidity``)."""

    asm_stage: str
    gsm_stage: str
    average_daily_volume: Decimal | None


def rupees(amount: Decimal) -> str:
    """``amount`` as the desk writes it: Rs 12,34,567 (Indian grouping, whole rupees)."""
    whole = int(amount.quantize(Decimal(1), ROUND_HALF_EVEN))
    digits = str(abs(whole))
    if len(digits) > 3:
        head, tail = digits[:-3], digits[-3:]
        pairs = [head[max(0, i - 2) : i] for i in range(len(head), 0, -2)][::-1]
        digits = ",".join([*pairs, tail])
    return f"Rs {'-' if whole < 0 else ''}{digits}"


def _pct(part: Decimal, whole: Decimal) -> Decimal:
    return (part * HUNDRED / whole).quantize(FOUR, ROUND_HALF_EVEN) if whole else ZERO


def _total(rows: Iterable[MoneyRow | FillRow]) -> Decimal:
    return sum((r.amount if isinstance(r, MoneyRow) else r.value for r in rows), ZERO)


def _evidence(money: Iterable[MoneyRow] = (), fills: Iterable[FillRow] = ()) -> list[dict]:
    """The ledger entries and fills, the largest EVIDENCE_MAX of each kind, in id order."""
    ledger = sorted(money, key=lambda r: (-r.amount, r.id))[:EVIDENCE_MAX]
    trades = sorted(fills, key=lambda f: (-f.value, f.id))[:EVIDENCE_MAX]
    return [{"kind": "ledger", "id": r.id} for r in sorted(ledger, key=lambda r: r.id)] + [
        {"kind": "fill", "id": f.id} for f in sorted(trades, key=lambda f: f.id)
    ]


def _one_account(rows: Iterable[MoneyRow | FillRow]) -> int | None:
    accounts = {r.account_id for r in rows}
    return accounts.pop() if len(accounts) == 1 else None


def _by_client(rows: Iterable) -> dict[int, list]:
    grouped: dict[int, list] = defaultdict(list)
    for row in rows:
        grouped[row.client_id].append(row)
    return grouped


def income_mismatch(
    money: list[MoneyRow], *, incomes: Mapping[int, str], income_upper: Mapping[str, Decimal],
    max_income_pct: Decimal, lookback_days: int,
) -> list[Finding]:  # fmt: skip
    """A client whose deposits, or whose withdrawals, in the window come to more than
    ``max_income_pct`` of the upper bound of the annual income it declared
    (``incomes``: client -> income range; ``income_upper``: range -> rupees). Clients who
    declared no income are not looked at."""
    found = []
    for client_id, rows in sorted(_by_client(money).items()):
        if client_id not in incomes:
            continue
        income_range = incomes[client_id]
        upper = Decimal(str(income_upper[income_range]))
        limit = upper * max_income_pct / HUNDRED
        sides = {kind: [r for r in rows if r.kind == kind] for kind in (DEPOSIT, WITHDRAWAL)}
        totals = {kind: _total(side) for kind, side in sides.items()}
        over = [kind for kind in (DEPOSIT, WITHDRAWAL) if totals[kind] > limit]
        if not over:
            continue
        worst = max(totals[kind] for kind in over)
        said = " and ".join(
            f"{'deposited' if kind == DEPOSIT else 'withdrew'} {rupees(totals[kind])} "
            f"({_pct(totals[kind], upper).normalize():f}%)"
            for kind in over
        )
        tripped = [r for kind in over for r in sides[kind]]
        found.append(
            Finding(
                subject_key=f"client:{client_id}",
                summary=f"client {client_id} {said} of a declared annual income of at most "
                f"{rupees(upper)} in {lookback_days} days (over {max_income_pct.normalize():f}%)",
                score=_pct(worst, upper),
                evidence=_evidence(money=tripped),
                detail={
                    "income_range": income_range,
                    "income_upper_rupees": str(upper),
                    "deposits": str(totals[DEPOSIT]),
                    "withdrawals": str(totals[WITHDRAWAL]),
                    "over": over,
                    "entries": len(tripped),
                },
                high=worst >= 2 * limit,
                client_id=client_id,
                account_id=_one_account(tripped),
            )
        )
    return found


def turnover_vs_income(
    fills: list[FillRow], *, incomes: Mapping[int, str], income_upper: Mapping[str, Decimal],
    max_multiple: Decimal, lookback_days: int,
) -> list[Finding]:  # fmt: skip
    """A client whose trading turnover in the window (the value of its buys and sells,
    quantity x price) is more than ``max_multiple`` times the upper bound of the annual
    income it declared. Clients who declared no income are not looked at."""
    found = []
    for client_id, rows in sorted(_by_client(fills).items()):
        if client_id not in incomes:
            continue
        income_range = incomes[client_id]
        upper = Decimal(str(income_upper[income_range]))
        turnover = _total(rows)
        if turnover <= upper * max_multiple:
            continue
        multiple = (turnover / upper).quantize(FOUR, ROUND_HALF_EVEN)
        found.append(
            Finding(
                subject_key=f"client:{client_id}",
                summary=f"client {client_id} traded {rupees(turnover)} in {lookback_days} "
                f"days: {multiple.quantize(Decimal('0.1'))} times a declared annual income "
                f"of at most {rupees(upper)} (over {max_multiple.normalize():f} times)",
                score=multiple,
                evidence=_evidence(fills=rows),
                detail={
                    "income_range": income_range,
                    "income_upper_rupees": str(upper),
                    "turnover": str(turnover),
                    "fills": len(rows),
                },
                high=multiple >= 2 * max_multiple,
                client_id=client_id,
                account_id=_one_account(rows),
            )
        )
    return found


def structuring(
    money: list[MoneyRow], *, threshold_rupees: Decimal, band_pct: Decimal, min_count: int,
    lookback_days: int,
) -> list[Finding]:  # fmt: skip
    """A client making at least ``min_count`` deposits in the window each just under
    ``threshold_rupees``: at least ``band_pct`` below it and less than it (splitting a sum
    to stay under a reporting threshold)."""
    floor = threshold_rupees * (HUNDRED - band_pct) / HUNDRED
    found = []
    for client_id, rows in sorted(_by_client(money).items()):
        under = [r for r in rows if r.kind == DEPOSIT and floor <= r.amount < threshold_rupees]
        if len(under) < max(min_count, 1):
            continue
        total = _total(under)
        found.append(
            Finding(
                subject_key=f"client:{client_id}",
                summary=f"client {client_id} made {len(under)} deposits just under "
                f"{rupees(threshold_rupees)} in {lookback_days} days ({rupees(total)} in all)",
                score=Decimal(len(under)),
                evidence=_evidence(money=under),
                detail={
                    "count": len(under),
                    "total": str(total),
                    "amounts": [str(r.amount) for r in sorted(under, key=lambda r: r.id)],
                    "band": [str(floor.quantize(Decimal("0.01"))), str(threshold_rupees)],
                },
                high=len(under) >= 2 * max(min_count, 1) or total >= 2 * threshold_rupees,
                client_id=client_id,
                account_id=_one_account(under),
            )
        )
    return found


def funds_through(
    money: list[MoneyRow], fills: list[FillRow], *, min_amount: Decimal,
    withdrawal_pct: Decimal, max_turnover_pct: Decimal, lookback_days: int,
) -> list[Finding]:  # fmt: skip
    """A client whose money came in and went out again with little trading: deposits and
    withdrawals in the window each at least ``min_amount``, the withdrawals at least
    ``withdrawal_pct`` of the deposits, and its turnover less than ``max_turnover_pct`` of
    the deposits (the account used as a conduit, not to trade)."""
    trades = _by_client(fills)
    found = []
    for client_id, rows in sorted(_by_client(money).items()):
        deposits = [r for r in rows if r.kind == DEPOSIT]
        withdrawals = [r for r in rows if r.kind == WITHDRAWAL]
        paid_in, paid_out = _total(deposits), _total(withdrawals)
        turnover = _total(trades.get(client_id, []))
        if (
            paid_in < min_amount
            or paid_out < min_amount
            or paid_in == 0
            or paid_out * HUNDRED < paid_in * withdrawal_pct
            or turnover * HUNDRED >= paid_in * max_turnover_pct
        ):
            continue
        out_pct, traded_pct = _pct(paid_out, paid_in), _pct(turnover, paid_in)
        found.append(
            Finding(
                subject_key=f"client:{client_id}",
                summary=f"client {client_id} paid in {rupees(paid_in)} and took out "
                f"{rupees(paid_out)} ({out_pct.normalize():f}%) in {lookback_days} days, "
                f"trading {rupees(turnover)} ({traded_pct.normalize():f}% of it)",
                score=out_pct,
                evidence=_evidence(money=rows, fills=trades.get(client_id, [])),
                detail={
                    "deposits": str(paid_in),
                    "withdrawals": str(paid_out),
                    "turnover": str(turnover),
                },
                high=turnover == 0,
                client_id=client_id,
                account_id=_one_account(rows),
            )
        )
    return found


def dormant_reactivated(
    money: list[MoneyRow], fills: list[FillRow], *, last_active: Mapping[int, datetime],
    window_start: datetime, dormant_days: int, min_amount: Decimal, lookback_days: int,
) -> list[Finding]:  # fmt: skip
    """An account idle for at least ``dormant_days`` before the window (no fill, deposit
    or withdrawal since ``last_active``: its last one before the window, else its opening)
    that in the window traded, or was paid into, at least ``min_amount``. An account
    opened in the window (not in ``last_active``) is new, not dormant."""
    deposits: dict[int, list[MoneyRow]] = defaultdict(list)
    for row in money:
        if row.kind == DEPOSIT:
            deposits[row.account_id].append(row)
    trades: dict[int, list[FillRow]] = defaultdict(list)
    for fill in fills:
        trades[fill.account_id].append(fill)
    found = []
    for account_id in sorted(set(deposits) | set(trades)):
        since = last_active.get(account_id)
        if since is None:
            continue
        idle = window_start - since
        if idle < timedelta(days=dormant_days):
            continue
        paid_in, turnover = _total(deposits[account_id]), _total(trades[account_id])
        if paid_in < min_amount and turnover < min_amount:
            continue
        rows = [*deposits[account_id], *trades[account_id]]
        client_id = rows[0].client_id
        found.append(
            Finding(
                subject_key=f"account:{account_id}",
                summary=f"account {account_id} (client {client_id}), idle {idle.days} days, "
                f"was paid {rupees(paid_in)} and traded {rupees(turnover)} in the last "
                f"{lookback_days} days",
                score=Decimal(idle.days),
                evidence=_evidence(money=deposits[account_id], fills=trades[account_id]),
                detail={
                    "last_active": since.isoformat(),
                    "idle_days": idle.days,
                    "deposits": str(paid_in),
                    "turnover": str(turnover),
                },
                high=idle >= timedelta(days=2 * dormant_days),
                client_id=client_id,
                account_id=account_id,
            )
        )
    return found


def illiquid_instruments(
    liquidity: Mapping[int, Liquidity], *, max_average_daily_volume: int
) -> dict[int, str]:
    """instrument id -> why it counts as illiquid: an ASM or GSM stage, or a known average
    daily market volume under ``max_average_daily_volume`` shares. An instrument with no
    day bars is not counted on volume (unknown is not illiquid)."""
    reasons = {}
    for instrument_id, known in sorted(liquidity.items()):
        why = [f"ASM {known.asm_stage}"] if known.asm_stage else []
        why += [f"GSM stage {known.gsm_stage}"] if known.gsm_stage else []
        volume = known.average_daily_volume
        if volume is not None and volume < max_average_daily_volume:
            why.append(f"average daily volume {volume:,.0f} shares")
        if why:
            reasons[instrument_id] = ", ".join(why)
    return reasons


def illiquid_concentration(
    fills: list[FillRow], *, illiquid: Mapping[int, str], share_pct: Decimal,
    min_turnover: Decimal, lookback_days: int,
) -> list[Finding]:  # fmt: skip
    """A client whose turnover in the window is concentrated in illiquid or exchange-
    surveillance stocks (``illiquid``: instrument -> why): at least ``min_turnover`` in
    them, and at least ``share_pct`` of all its turnover."""
    found = []
    for client_id, rows in sorted(_by_client(fills).items()):
        thin = [f for f in rows if f.instrument_id in illiquid]
        if not thin:
            continue
        total, in_thin = _total(rows), _total(thin)
        share = _pct(in_thin, total)
        if in_thin < min_turnover or share < share_pct:
            continue
        symbols = sorted({f.symbol for f in thin})
        found.append(
            Finding(
                subject_key=f"client:{client_id}",
                summary=f"client {client_id} traded {rupees(in_thin)} ({share.normalize():f}% "
                f"of its turnover) in illiquid or surveillance stocks "
                f"({', '.join(symbols)}) in {lookback_days} days",
                score=share,
                evidence=_evidence(fills=thin),
                detail={
                    "turnover": str(total),
                    "illiquid_turnover": str(in_thin),
                    "instruments": {
                        str(i): illiquid[i] for i in sorted({f.instrument_id for f in thin})
                    },
                },
                high=share >= min(2 * share_pct, HUNDRED) and in_thin >= 2 * min_turnover,
                client_id=client_id,
                account_id=_one_account(thin),
                instrument_id=thin[0].instrument_id
                if len({f.instrument_id for f in thin}) == 1
                else None,
            )
        )
    return found
