"""Deployments: create, start, pause, stop (each audited), and the step at each bar's close.

``deployment_step`` is the live half of the one code path: it reads the deployment's bars
from ``history_from`` to the bar that just closed, asks the strategy for its targets over
them (the same ``Strategy.targets`` the backtest engine calls) and, if the target of that
bar differs from what the deployment holds, sends the difference as market orders through
``orders.services.order_place`` with the deployment's algo ID. The order then fills at the
next price, as the backtest fills at the next bar's open. An entry carries the fixed
quantity or, with risk sizing, ``strategies.sizing.entry_shares`` of the deployment's
equity at that close (its capital, plus what its orders' fills have made, plus its filled
shares at the close), as the engine sizes it; an exit sells what the entry bought.

Steps are idempotent: a decision is claimed per (deployment, bar) by a unique row before
any order is sent, each order's ``client_order_id`` is derived from the deployment, bar
and leg (a retried step finds the order it sent), and a redelivered step of a decided bar
does nothing. No lock is held while bars are read, targets computed or orders placed; the
deployment row is locked (alone, ``of=self``) only to record the outcome. After a pause
or a worker's restart the deployment acts on the latest closed bar: it takes the position
the strategy holds now, and the bars it missed are not replayed.

A rejection by a kill switch pauses the deployment, naming the switch: it stays paused
until a permitted user resumes it once the switch is reset.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from compliance.services import audit_record
from strategies.base import StrategyError, strategy_make
from strategies.choices import Sizing
from strategies.live.models import DeploymentDecision, StrategyDeployment
from tradingsite.errors import DomainError

DEPLOY_PERMISSION = "strategies.deploy_strategy"
Status = StrategyDeployment.Status
Outcome = DeploymentDecision.Outcome


class DeploymentRefused(DomainError):
    """A deployment request or move refused; the message names why."""

    problem_type = "deployment-refused"


def _may_deploy(actor) -> None:
    if not actor.is_active or not actor.has_perm(DEPLOY_PERMISSION):
        raise PermissionError(f"{actor.get_username()} may not deploy strategies")


def deployment_create(
    *, actor, strategy: str, params: dict[str, Any] | None, account, instrument,
    quantity: int, capital: Decimal, algo_id: str, history_from: datetime,
    second_instrument=None, product: str = "MIS", mode: str = StrategyDeployment.Mode.PAPER,
    sizing: str = Sizing.FIXED, risk_pct: Decimal | None = None, stop_atr: Decimal | None = None,
) -> StrategyDeployment:  # fmt: skip
    """A deployment, ready to start; refused (naming the problem) for an unknown strategy or
    parameter, a leg missing or extra, a mode that is not the account's broker's, risk
    sizing that is not whole (risk_pct and stop_atr above 0) or on a pair, or an algo ID
    already deployed on the account. Risk sizing's defaults: 2 % at 2 ATRs."""
    _may_deploy(actor)
    sizing, risk_pct, stop_atr = _sizing_checked(
        sizing, risk_pct, stop_atr, pair=second_instrument is not None
    )
    try:
        made = strategy_make(strategy, params)
    except StrategyError as error:
        raise DeploymentRefused(str(error)) from None
    legs = 2 if second_instrument is not None else 1
    if made.legs != legs:
        raise DeploymentRefused(f"{strategy} trades {made.legs} instrument(s); {legs} given")
    paper = account.broker == "paper"
    if (mode == StrategyDeployment.Mode.PAPER) != paper:
        raise DeploymentRefused(
            f"account {account.code} trades through {account.broker!r}: a {mode} deployment "
            "needs " + ("the paper exchange" if mode == "paper" else "a live broker")
        )
    try:
        with transaction.atomic():
            deployment = StrategyDeployment.objects.create(
                strategy=strategy, params=made.values, account=account, instrument=instrument,
                second_instrument=second_instrument, product=product, quantity=quantity,
                capital=capital, algo_id=algo_id, mode=mode, history_from=history_from,
                targets=[0] * legs, positions=[0] * legs, created_by=actor, sizing=sizing,
                risk_pct=risk_pct, stop_atr=stop_atr,
            )  # fmt: skip
            audit_record(action="deployment.created", obj=deployment, actor=actor,
                         account_id=account.pk, after=_described(deployment))  # fmt: skip
    except IntegrityError as error:
        raise DeploymentRefused(
            f"algo ID {algo_id!r} is already deployed on account {account.code}, or a quantity, "
            f"capital or algo ID is missing ({error})"
        ) from None
    return deployment


def _sizing_checked(sizing, risk_pct, stop_atr, *, pair: bool):
    """(sizing, risk_pct, stop_atr) as stored; DeploymentRefused naming what is wrong."""
    sizing = sizing or Sizing.FIXED
    if sizing not in Sizing.values:
        raise DeploymentRefused(f"sizing {sizing!r}: choose one of {', '.join(Sizing.values)}")
    if sizing == Sizing.FIXED:
        if risk_pct is not None or stop_atr is not None:
            raise DeploymentRefused("risk_pct and stop_atr are for risk sizing; this one is fixed")
        return sizing, None, None
    risk_pct = Decimal("2") if risk_pct is None else risk_pct
    stop_atr = Decimal("2") if stop_atr is None else stop_atr
    if not (0 < risk_pct <= 100) or not (0 < stop_atr <= 100):
        raise DeploymentRefused(
            f"risk sizing: risk_pct {risk_pct} must be above 0 and at most 100, stop_atr "
            f"{stop_atr} above 0 and at most 100"
        )
    if pair:
        raise DeploymentRefused("risk sizing sizes one instrument; a pair trades a fixed quantity")
    return sizing, risk_pct, stop_atr


def _described(d: StrategyDeployment) -> dict[str, Any]:
    return {"strategy": d.strategy, "params": d.params, "algo_id": d.algo_id,
            "instrument_id": d.instrument_id, "second_instrument_id": d.second_instrument_id,
            "quantity": d.quantity, "sizing": d.sizing,
            "risk_pct": None if d.risk_pct is None else str(d.risk_pct),
            "stop_atr": None if d.stop_atr is None else str(d.stop_atr),
            "capital": str(d.capital), "mode": d.mode, "status": d.status}  # fmt: skip


#: Which moves each status allows.
MOVES = {
    Status.READY: {Status.RUNNING, Status.STOPPED},
    Status.RUNNING: {Status.PAUSED, Status.STOPPED},
    Status.PAUSED: {Status.RUNNING, Status.STOPPED},
    Status.STOPPED: set(),
}


def _move(
    deployment: StrategyDeployment, to: str, *, actor, reason: str = ""
) -> StrategyDeployment:
    with transaction.atomic():
        locked = StrategyDeployment.objects.select_for_update(of=("self",)).get(pk=deployment.pk)
        if to not in MOVES[locked.status]:
            raise DeploymentRefused(
                f"deployment {locked.pk} is {locked.get_status_display().lower()}: it cannot "
                f"become {Status(to).label.lower()}"
            )
        before = locked.status
        locked.status, locked.status_reason = to, reason[:300]
        now = timezone.now()
        if to == Status.RUNNING and locked.started_at is None:
            locked.started_at = now
        if to == Status.STOPPED:
            locked.stopped_at = now
        locked.save(update_fields=["status", "status_reason", "started_at", "stopped_at"])
        audit_record(action=f"deployment.{to}", obj=locked, actor=actor,
                     account_id=locked.account_id, before={"status": before},
                     after={"status": to, "reason": reason})  # fmt: skip
    return locked


def deployment_start(deployment: StrategyDeployment, *, actor) -> StrategyDeployment:
    """Start (or resume) trading; it acts from the next bar that closes."""
    _may_deploy(actor)
    return _move(deployment, Status.RUNNING, actor=actor)


def deployment_pause(
    deployment: StrategyDeployment, *, actor, reason: str = ""
) -> StrategyDeployment:
    """Stop deciding; what it holds stays held (square it off through the order book)."""
    _may_deploy(actor)
    return _move(deployment, Status.PAUSED, actor=actor, reason=reason)


def deployment_stop(
    deployment: StrategyDeployment, *, actor, reason: str = ""
) -> StrategyDeployment:
    """Stop for good (a stopped deployment is kept, never restarted)."""
    _may_deploy(actor)
    return _move(deployment, Status.STOPPED, actor=actor, reason=reason)


def _bars(deployment: StrategyDeployment, through: datetime):
    from strategies.selectors import bars_for

    legs = [deployment.instrument] + (
        [deployment.second_instrument] if deployment.second_instrument_id else []
    )
    end = through + timedelta(microseconds=1)  # the bar starting at ``through`` included
    bars = [bars_for(leg, deployment.interval, deployment.history_from, end) for leg in legs]
    return bars[0] if len(bars) == 1 else tuple(bars)


def _claim(deployment: StrategyDeployment, bar_start: datetime, targets: list[int]):
    """The decision of this bar, made pending now or found; None when already decided."""
    try:
        with transaction.atomic():
            return DeploymentDecision.objects.create(
                deployment=deployment, bar_start=bar_start,
                targets_before=list(deployment.targets), targets_after=targets,
            )  # fmt: skip
    except IntegrityError:
        found = DeploymentDecision.objects.get(deployment=deployment, bar_start=bar_start)
        return found if found.outcome == Outcome.PENDING else None


def _held_shares(deployment: StrategyDeployment) -> list[int]:
    """The shares it holds per leg (a deployment from before sizing: its targets x quantity)."""
    if len(deployment.positions) == len(deployment.targets):
        return [int(shares) for shares in deployment.positions]
    return [int(t) * deployment.quantity for t in deployment.targets]


def _equity(deployment: StrategyDeployment, close: float) -> float:
    """Its equity at ``close``: the capital, plus the cash its orders' fills moved (sales in,
    purchases out, charges out), plus the shares filled and still held, marked at
    ``close``. One instrument (risk sizing sizes only those)."""
    from orders.models import Fill

    cash, shares = float(deployment.capital), 0
    fills = Fill.objects.filter(
        order__account=deployment.account, order__tag=f"dep{deployment.pk}"
    ).values_list("order__transaction_type", "quantity", "price", "charges_total")
    for side, quantity, price, charges in fills:
        sign = 1 if side == "BUY" else -1
        shares += sign * quantity
        cash -= sign * quantity * float(price) + float(charges)
    return cash + shares * close


def _shares_wanted(deployment: StrategyDeployment, bars, wanted: list[int]) -> list[int]:
    """The shares each leg should hold for the ``wanted`` targets: what it holds where the
    target is unchanged, none where it is 0, and for an entry the fixed quantity or the
    risk-sized shares of its equity at this close."""
    held_targets, held = list(deployment.targets), _held_shares(deployment)
    legs = bars if isinstance(bars, tuple) else (bars,)
    shares = []
    for leg, target in enumerate(wanted):
        if target == held_targets[leg]:
            shares.append(held[leg])
        elif target == 0:
            shares.append(0)
        elif deployment.sizing == Sizing.RISK:
            from strategies.indicators import atr
            from strategies.sizing import ATR_PERIOD, entry_shares

            last = legs[leg]
            close = float(last.close[-1])
            average_range = float(atr(last.high, last.low, last.close, ATR_PERIOD)[-1])
            sized = entry_shares(
                equity=_equity(deployment, close), close=close, average_range=average_range,
                direction=target, risk_pct=float(deployment.risk_pct),
                stop_atr=float(deployment.stop_atr),
            )  # fmt: skip
            shares.append(target * sized)
        else:
            shares.append(target * deployment.quantity)
    return shares


def _orders_for(
    deployment: StrategyDeployment, decision: DeploymentDecision, shares: list[int]
) -> list[tuple]:
    """(leg, order request) for each leg whose shares change."""
    from orders.validation import OrderRequest

    legs = [deployment.instrument, deployment.second_instrument]
    stamp = int(decision.bar_start.timestamp())
    requests = []
    for leg, (before, after) in enumerate(zip(_held_shares(deployment), shares, strict=True)):
        delta = after - before
        if delta == 0:
            continue
        instrument = legs[leg]
        requests.append((leg,
            OrderRequest(
                exchange=instrument.exchange, tradingsymbol=instrument.tradingsymbol,
                transaction_type="BUY" if delta > 0 else "SELL", order_type="MARKET",
                product=deployment.product, quantity=abs(delta), tag=f"dep{deployment.pk}",
                client_order_id=f"dep{deployment.pk}-{stamp}-{leg}", algo_id=deployment.algo_id,
            ),
        ))  # fmt: skip
    return requests


def _over_capital(deployment: StrategyDeployment, shares: list[int]) -> str:
    from marketdata.pricecache import quote_get

    legs = [deployment.instrument, deployment.second_instrument]
    worth = sum(abs(n) * quote_get(legs[i].key).last_price for i, n in enumerate(shares) if n)
    if worth > deployment.capital:
        return f"the positions would be worth {worth:.2f}, over its capital of {deployment.capital}"
    return ""


def deployment_step(deployment_id: int, *, through: datetime) -> DeploymentDecision | None:
    """Decide at the close of the latest bar starting at or before ``through``; returns the
    decision taken (None: not running, no new bar, or decided already)."""
    from orders.services import order_place

    deployment = StrategyDeployment.objects.select_related(
        "account", "instrument", "second_instrument"
    ).get(pk=deployment_id)
    if deployment.status != Status.RUNNING:
        return None
    try:
        bars = _bars(deployment, through)
    except StrategyError:  # too few bars yet to decide on
        return None
    first = bars[0] if isinstance(bars, tuple) else bars
    bar_start = first.time[-1].astype("datetime64[us]").item().replace(tzinfo=UTC)
    if deployment.last_bar is not None and bar_start <= deployment.last_bar:
        return None
    targets = strategy_make(deployment.strategy, deployment.params).targets(bars)
    wanted = [int(t) for t in (targets[-1] if targets.ndim > 1 else [targets[-1]])]
    decision = _claim(deployment, bar_start, wanted)
    if decision is None:
        return None
    outcome, message, order_ids, pause = Outcome.HOLD, "", [], ""
    held, shares = list(decision.targets_before), _held_shares(deployment)
    if wanted != held:
        wanted_shares = _shares_wanted(deployment, bars, wanted)
        message = _over_capital(deployment, wanted_shares)
        outcome = Outcome.REFUSED if message else Outcome.PLACED
    if outcome == Outcome.PLACED:
        for leg, request in _orders_for(deployment, decision, wanted_shares):
            try:
                order = order_place(account=deployment.account, request=request).order
            except DomainError as error:  # refused before it was an order (bad input)
                outcome, message = Outcome.REJECTED, str(error)[:500]
                break
            order_ids.append(order.pk)
            if order.status == "REJECTED":
                outcome = Outcome.REJECTED
                reasons = order.rejection_reasons or []
                message = "; ".join(r.get("message", "") for r in reasons)[:500]
                if any(r.get("code") == "KILL_SWITCH" for r in reasons):
                    pause = f"kill switch: {message}"[:300]
                break
            held[leg], shares[leg] = wanted[leg], wanted_shares[leg]
        else:
            held, shares = wanted, wanted_shares
    _record(deployment, decision, outcome, message, order_ids, pause, held, shares)
    return decision


def _record(deployment, decision, outcome, message, order_ids, pause, held, shares) -> None:
    """The decision's outcome and the targets and shares now held (a leg whose order was
    rejected keeps what it held)."""
    with transaction.atomic():
        locked = StrategyDeployment.objects.select_for_update(of=("self",)).get(pk=deployment.pk)
        decision.outcome, decision.message, decision.order_ids = outcome, message, order_ids
        decision.save(update_fields=["outcome", "message", "order_ids"])
        fields = ["last_bar"]
        locked.last_bar = max(filter(None, [locked.last_bar, decision.bar_start]))
        if held != locked.targets or shares != locked.positions:
            locked.targets, locked.positions = held, shares
            fields += ["targets", "positions"]
        if pause and locked.status == Status.RUNNING:
            locked.status, locked.status_reason = Status.PAUSED, pause
            fields += ["status", "status_reason"]
            audit_record(action="deployment.paused", obj=locked, account_id=locked.account_id,
                         before={"status": Status.RUNNING},
                         after={"status": Status.PAUSED, "reason": pause})  # fmt: skip
        locked.save(update_fields=fields)


def deployments_on_bars(sender, start: datetime, instrument_ids: list[int], **kwargs) -> int:
    """The feed closed a minute (``marketdata.bar_builder.bars_closed``): queue a step of each
    running one-minute deployment on those instruments, after the bars commit."""
    from strategies.live.tasks import deployment_step_task

    running = StrategyDeployment.objects.filter(
        status=Status.RUNNING, interval="1m", instrument_id__in=instrument_ids
    ).values_list("pk", flat=True)
    through = start.isoformat()
    ids = list(running)
    for pk in ids:
        transaction.on_commit(lambda pk=pk: deployment_step_task.delay(pk, through))
    return len(ids)
