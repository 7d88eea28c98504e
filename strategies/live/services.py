"""Deployments: create, start, pause, stop (each audited), and the step at each bar's close.

``deployment_step`` is the live half of the one code path: it reads the deployment's bars
from ``history_from`` to the bar that just closed, asks the strategy for its targets over
them (the same ``Strategy.targets`` the backtest engine calls) and, if the target of that
bar differs from what the deployment holds, sends the difference as market orders through
``orders.services.order_place`` with the deployment's algo ID. The order then fills at the
next price, as the backtest fills at the next bar's open.

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
) -> StrategyDeployment:  # fmt: skip
    """A deployment, ready to start; refused (naming the problem) for an unknown strategy or
    parameter, a leg missing or extra, a mode that is not the account's broker's, or an algo
    ID already deployed on the account."""
    _may_deploy(actor)
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
                targets=[0] * legs, created_by=actor,
            )  # fmt: skip
            audit_record(action="deployment.created", obj=deployment, actor=actor,
                         account_id=account.pk, after=_described(deployment))  # fmt: skip
    except IntegrityError as error:
        raise DeploymentRefused(
            f"algo ID {algo_id!r} is already deployed on account {account.code}, or a quantity, "
            f"capital or algo ID is missing ({error})"
        ) from None
    return deployment


def _described(d: StrategyDeployment) -> dict[str, Any]:
    return {"strategy": d.strategy, "params": d.params, "algo_id": d.algo_id,
            "instrument_id": d.instrument_id, "second_instrument_id": d.second_instrument_id,
            "quantity": d.quantity, "capital": str(d.capital), "mode": d.mode,
            "status": d.status}  # fmt: skip


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


def _orders_for(deployment: StrategyDeployment, decision: DeploymentDecision) -> list[tuple]:
    """(leg, order request) for each leg whose target changes."""
    from orders.validation import OrderRequest

    legs = [deployment.instrument, deployment.second_instrument]
    stamp = int(decision.bar_start.timestamp())
    requests = []
    for leg, (before, after) in enumerate(
        zip(decision.targets_before, decision.targets_after, strict=True)
    ):
        delta = (after - before) * deployment.quantity
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


def _over_capital(deployment: StrategyDeployment, targets: list[int]) -> str:
    from marketdata.pricecache import quote_get

    legs = [deployment.instrument, deployment.second_instrument]
    worth = sum(
        abs(t) * deployment.quantity * quote_get(legs[i].key).last_price
        for i, t in enumerate(targets)
        if t
    )
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
    held = list(decision.targets_before)
    if wanted != held:
        message = _over_capital(deployment, wanted)
        outcome = Outcome.REFUSED if message else Outcome.PLACED
    if outcome == Outcome.PLACED:
        for leg, request in _orders_for(deployment, decision):
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
            held[leg] = wanted[leg]
        else:
            held = wanted
    _record(deployment, decision, outcome, message, order_ids, pause, held)
    return decision


def _record(deployment, decision, outcome, message, order_ids, pause, held) -> None:
    """The decision's outcome and the targets now held (a leg whose order was rejected
    keeps what it held)."""
    with transaction.atomic():
        locked = StrategyDeployment.objects.select_for_update(of=("self",)).get(pk=deployment.pk)
        decision.outcome, decision.message, decision.order_ids = outcome, message, order_ids
        decision.save(update_fields=["outcome", "message", "order_ids"])
        fields = ["last_bar"]
        locked.last_bar = max(filter(None, [locked.last_bar, decision.bar_start]))
        if held != locked.targets:
            locked.targets = held
            fields.append("targets")
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
