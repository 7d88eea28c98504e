"""Strategies in the web app: the chosen account's deployments (start, pause and stop for a
user who may deploy, through the deployment services, each audited) and the backtest runs
the user may see, a run's equity and drawdown drawn from the equity API."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from strategies.live.services import (
    DEPLOY_PERMISSION,
    deployment_pause,
    deployment_start,
    deployment_stop,
)
from strategies.selectors import backtest_runs_for, deployments_for
from tradingsite.errors import DomainError
from web.selectors import shell_of
from web.views import page, signed_in

RUNS_SHOWN = 50
MOVES = {"start": deployment_start, "pause": deployment_pause, "stop": deployment_stop}


@signed_in
def strategies(request: HttpRequest) -> HttpResponse:
    shell = shell_of(request.user, request.session)
    account = shell["account"]
    deployments = list(deployments_for(user=request.user, account=account)) if account else []
    runs = list(backtest_runs_for(user=request.user)[:RUNS_SHOWN])
    return page(
        request, "web/strategies.html", shell=shell, deployments=deployments, runs=runs,
        nav="strategies", may_deploy=request.user.has_perm(DEPLOY_PERMISSION),
    )  # fmt: skip


@signed_in
@require_POST
def deployment_move(request: HttpRequest, pk: int, move: str) -> HttpResponse:
    shell = shell_of(request.user, request.session)
    deployment = None
    if shell["account"] is not None and move in MOVES:
        deployment = (
            deployments_for(user=request.user, account=shell["account"]).filter(pk=pk).first()
        )
    if deployment is None:
        raise Http404(f"You have no deployment {pk} on this account.")
    try:
        moved = MOVES[move](deployment, actor=request.user)
        messages.success(
            request, f"Deployment {moved.algo_id}: {moved.get_status_display().lower()}."
        )
    except (DomainError, PermissionError) as refused:
        messages.error(request, f"Deployment {deployment.algo_id} did not {move}: {refused}")
    return HttpResponseRedirect(reverse("web:strategies"))


@signed_in
def backtest(request: HttpRequest, pk: int) -> HttpResponse:
    run = backtest_runs_for(user=request.user).filter(pk=pk).first()
    if run is None:
        raise Http404(f"You have no backtest run {pk}.")
    return page(
        request,
        "web/backtest.html",
        run=run,
        nav="strategies",
        equity_url=reverse("api:backtest-equity", args=[run.pk]),
    )
