"""Strategies API: the catalogue, and backtest runs (request, list, detail, equity data),
walk-forwards among them (requested at ``/walkforwards``, read as runs of kind
``walk_forward``).

A request queues a run (202, with its Location) for a worker on the ``backtests`` queue;
refused input answers problem+json 400 naming each field and makes no run. The equity
endpoint gives the trader web app one date, equity and drawdown value per bar to chart.
Everything needs ``strategies.view_strategies``; requesting needs
``strategies.run_backtest``. Views are thin: they validate, call one service or selector,
and shape.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketdata.choices import Interval
from orders.api import StrictSerializer
from strategies.models import BacktestRun
from strategies.selectors import VIEW_PERM, backtest_runs_for, strategy_catalogue
from strategies.services import LIMITS, backtest_request, walkforward_request
from strategies.walkforward import BOUNDARIES, OBJECTIVES
from tradingsite.errors import ProblemError, get_or_404
from tradingsite.permissions import holds
from tradingsite.schema import problems

PARAM_VALUE_SCHEMA = {
    "anyOf": [{"type": "number"}, {"type": "boolean"}, {"type": "string"}],
    "description": "A parameter's value (text is read as the parameter's type)",
}
IST_OFFSET = np.timedelta64(330, "m")


@extend_schema_field(PARAM_VALUE_SCHEMA)
class ParamValueField(serializers.JSONField):
    """A number, a boolean, or text the strategy reads as its parameter's type."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict | list) or data is None:
            raise serializers.ValidationError("is a number, a boolean or text")
        return data


class ParamOutput(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=["int", "float", "bool"])
    default = ParamValueField()
    low = serializers.FloatField(allow_null=True)
    high = serializers.FloatField(allow_null=True)
    help = serializers.CharField(allow_blank=True)


class StrategyOutput(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField()
    beta = serializers.BooleanField(help_text="Shown as beta: not for live money yet")
    legs = serializers.IntegerField(help_text="Instruments it trades together")
    intraday = serializers.BooleanField()
    shorts = serializers.BooleanField()
    params = ParamOutput(many=True)


class StrategyList(APIView):
    """The strategy catalogue: each strategy's parameters, with types, defaults and bounds."""

    permission_classes = [IsAuthenticated, holds(VIEW_PERM)]

    @extend_schema(operation_id="strategies_list", responses={200: StrategyOutput(many=True)})
    def get(self, request: Request) -> Response:
        listed = [
            {
                "name": cls.name, "title": cls.title, "beta": cls.beta, "legs": cls.legs,
                "intraday": cls.intraday, "shorts": cls.shorts,
                "params": [
                    {"name": p.name, "type": p.type.__name__, "default": p.default,
                     "low": p.low, "high": p.high, "help": p.help}
                    for p in cls.params
                ],
            }
            for cls in strategy_catalogue()
        ]  # fmt: skip
        return Response(StrategyOutput(listed, many=True).data)


class RunInput(StrictSerializer):
    """What a backtest and a walk-forward both take."""

    strategy = serializers.CharField(max_length=64)
    instrument = serializers.CharField(max_length=30, help_text="e.g. NSE:INFY")
    second_instrument = serializers.CharField(
        max_length=30, required=False, help_text="The second leg of a pair (pairs only)"
    )
    interval = serializers.ChoiceField(choices=Interval.values)
    date_from = serializers.DateField(help_text="First session (IST)")
    date_to = serializers.DateField(help_text="Last session (IST), included")
    quantity = serializers.IntegerField(
        min_value=LIMITS["quantity"][0], max_value=LIMITS["quantity"][1], required=False
    )
    cash = serializers.DecimalField(
        max_digits=16, decimal_places=2, min_value=LIMITS["cash"][0],
        max_value=LIMITS["cash"][1], required=False,
    )  # fmt: skip
    commission_pct = serializers.DecimalField(
        max_digits=7, decimal_places=4, min_value=LIMITS["commission_pct"][0],
        max_value=LIMITS["commission_pct"][1], required=False,
        help_text="Percent of each fill's value, both sides",
    )  # fmt: skip
    slippage_bps = serializers.DecimalField(
        max_digits=7, decimal_places=2, min_value=LIMITS["slippage_bps"][0],
        max_value=LIMITS["slippage_bps"][1], required=False,
    )  # fmt: skip
    costs = serializers.ChoiceField(choices=BacktestRun.Costs.choices, required=False)
    sizing = serializers.ChoiceField(
        choices=BacktestRun.Sizing.choices, required=False,
        help_text="fixed: the quantity each entry; risk: risk_pct % of equity at a stop "
        "stop_atr ATR(14)s away, at most what the equity buys",
    )  # fmt: skip
    risk_pct = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=LIMITS["risk_pct"][0],
        max_value=LIMITS["risk_pct"][1], required=False, help_text="Risk sizing: default 2",
    )  # fmt: skip
    stop_atr = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=LIMITS["stop_atr"][0],
        max_value=LIMITS["stop_atr"][1], required=False, help_text="Risk sizing: default 2",
    )  # fmt: skip


class BacktestRequestInput(RunInput):
    """A backtest to queue; the strategy checks its parameters, the service the rest."""

    params = serializers.DictField(child=ParamValueField(), required=False, default=dict)


@extend_schema_field(
    {"type": "object", "additionalProperties": {"anyOf": [
        {"type": "array", "items": PARAM_VALUE_SCHEMA}, {"type": "string"}]},
     "description": "Parameter to its values (a grid), or to \"LOW:HIGH\" (random search, "
     "with samples)"}
)  # fmt: skip
class SpaceField(serializers.JSONField):
    """A walk-forward's space: an object, or ``NAME=v1,v2`` / ``NAME=LOW:HIGH`` lines."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict | str) or not data:
            raise serializers.ValidationError("is an object of parameter to values, or lines")
        return data


class WalkForwardRequestInput(RunInput):
    """A walk-forward to queue: the space, checked by the strategy; the windows over the
    range's bars."""

    space = SpaceField()
    samples = serializers.IntegerField(
        min_value=1, required=False, help_text="Random search: the points drawn"
    )
    seed = serializers.IntegerField(min_value=0, max_value=2**32 - 1, required=False)
    windows = serializers.IntegerField(min_value=1, max_value=50, required=False, default=5)
    in_sample = serializers.IntegerField(min_value=2, required=False, help_text="Bars")
    out_of_sample = serializers.IntegerField(min_value=2, required=False, help_text="Bars")
    anchored = serializers.BooleanField(required=False, default=False)
    boundary = serializers.ChoiceField(choices=BOUNDARIES, required=False, default="carry")
    objective = serializers.ChoiceField(choices=OBJECTIVES, required=False, default="sharpe")


class BacktestProgressOutput(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField(allow_null=True)
    percent = serializers.FloatField(allow_null=True)
    unit = serializers.CharField()
    message = serializers.CharField(allow_blank=True)
    status = serializers.CharField()


class TradeOutput(serializers.Serializer):
    entry_index = serializers.IntegerField()
    entry_date = serializers.CharField()
    entry_price = serializers.FloatField()
    exit_index = serializers.IntegerField()
    exit_date = serializers.CharField()
    exit_price = serializers.FloatField()
    quantity = serializers.FloatField(help_text="Negative for a short")
    pnl = serializers.FloatField(help_text="(exit - entry) x quantity - both sides' costs")
    costs = serializers.FloatField()
    leg = serializers.IntegerField()


class BacktestRunOutput(serializers.ModelSerializer):
    params = serializers.DictField(child=ParamValueField())
    instrument = serializers.CharField(source="instrument.key", default=None, allow_null=True)
    second_instrument = serializers.CharField(
        source="second_instrument.key", default=None, allow_null=True
    )
    interval = serializers.CharField(
        allow_blank=True, help_text="1m, 5m, 15m, 1h or 1d; empty for bars from a CSV"
    )
    metrics = serializers.DictField(
        child=serializers.FloatField(allow_null=True),
        help_text="total_return, cagr, sharpe, sortino, max_drawdown_pct, ...; null: undefined",
    )
    requested_by = serializers.CharField(
        source="requested_by.username", default=None, allow_null=True
    )
    trade_count = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    equity_url = serializers.SerializerMethodField()

    class Meta:
        model = BacktestRun
        fields = [
            "id", "kind", "strategy", "params", "instrument", "second_instrument", "interval",
            "date_from", "date_to", "source", "quantity", "cash", "commission_pct",
            "slippage_bps", "costs", "sizing", "risk_pct", "stop_atr", "status",
            "error", "metrics", "trade_count", "bar_count", "code_version", "requested_by",
            "created_at", "started_at", "finished_at", "progress", "equity_url",
        ]  # fmt: skip

    def get_trade_count(self, run: BacktestRun) -> int:
        return len(run.trades)

    @extend_schema_field(BacktestProgressOutput(allow_null=True))
    def get_progress(self, run: BacktestRun) -> dict | None:
        job = run.job_run
        if job is None:
            return None
        return {
            "done": job.done, "total": job.total, "percent": job.percent, "unit": job.unit,
            "message": job.message, "status": job.status,
        }  # fmt: skip

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_equity_url(self, run: BacktestRun) -> str | None:
        if run.status != BacktestRun.Status.SUCCEEDED:
            return None
        return reverse("api:backtest-equity", args=[run.pk])


@extend_schema_field(
    {"type": "object", "additionalProperties": True, "nullable": True,
     "description": "The position still open at the end, marked to the last close"}
)  # fmt: skip
class OpenPositionField(serializers.JSONField):
    """A run's open position as JSON, typed for the schema (the decorator above)."""


class WindowOutput(serializers.Serializer):
    index = serializers.IntegerField()
    is_first = serializers.CharField(help_text="First in-sample bar")
    is_last = serializers.CharField()
    oos_first = serializers.CharField(help_text="First out-of-sample bar")
    oos_last = serializers.CharField()
    params = serializers.DictField(child=ParamValueField(), help_text="Chosen in-sample")
    points = serializers.IntegerField(help_text="Points tried in-sample")
    in_sample = serializers.DictField(child=serializers.FloatField(allow_null=True))
    out_of_sample = serializers.DictField(child=serializers.FloatField(allow_null=True))


class DegradationOutput(serializers.Serializer):
    windows = serializers.IntegerField(help_text="Windows where both are defined")
    in_sample_mean = serializers.FloatField(allow_null=True)
    out_of_sample_mean = serializers.FloatField(allow_null=True)
    difference = serializers.FloatField(allow_null=True, help_text="OOS - IS")
    ratio = serializers.FloatField(allow_null=True, help_text="OOS / IS")


@extend_schema_field(
    {"type": "object", "additionalProperties": True,
     "description": "A walk-forward's space, points, windows, boundary and objective"}
)  # fmt: skip
class PlanField(serializers.JSONField):
    """A walk-forward's plan as stored, typed for the schema (the decorator above)."""


class BacktestRunDetailOutput(BacktestRunOutput):
    trades = TradeOutput(many=True)
    open_position = OpenPositionField(allow_null=True)
    walk_forward = PlanField(help_text="Empty for a backtest")
    windows = WindowOutput(many=True, help_text="A walk-forward's windows (empty otherwise)")
    degradation = serializers.DictField(
        child=DegradationOutput(), help_text="Per metric, in-sample against out-of-sample"
    )

    class Meta(BacktestRunOutput.Meta):
        fields = [
            *BacktestRunOutput.Meta.fields, "trades", "open_position", "walk_forward",
            "windows", "degradation",
        ]  # fmt: skip


def _runs(request: Request):
    return backtest_runs_for(user=request.user).select_related("job_run")


class BacktestRunListCreate(generics.ListAPIView):
    """Backtest runs you may see, newest first (yours; everyone's for the desk's staff); or
    request one: 202, run by a worker on the ``backtests`` queue, polled at its Location."""

    serializer_class = BacktestRunOutput
    permission_classes = [IsAuthenticated, holds(VIEW_PERM)]
    filterset_fields = ["strategy", "status", "kind"]
    ordering_fields = ["created_at", "id"]

    def get_queryset(self):
        return _runs(self.request)

    @extend_schema(operation_id="backtests_list")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="backtest_request",
        request=BacktestRequestInput,
        responses={202: BacktestRunOutput, **problems("permission-denied")},
    )
    def post(self, request: Request) -> Response:
        return _queued(request, BacktestRequestInput, backtest_request)


def _queued(request: Request, shape, service) -> Response:
    given = shape(data=request.data)
    given.is_valid(raise_exception=True)
    run = service(user=request.user, data=given.validated_data)
    run = _runs(request).get(pk=run.pk)
    return Response(
        BacktestRunOutput(run).data,
        status=status.HTTP_202_ACCEPTED,
        headers={"Location": reverse("api:backtest", args=[run.pk])},
    )


class WalkForwardCreate(APIView):
    """Request a walk-forward: each window optimised in-sample over the space and traded
    out-of-sample, stitched. 202, run by a worker on the ``backtests`` queue and read at
    its Location as a run of kind ``walk_forward`` (its windows and degradation there)."""

    permission_classes = [IsAuthenticated, holds(VIEW_PERM)]

    @extend_schema(
        operation_id="walkforward_request",
        request=WalkForwardRequestInput,
        responses={202: BacktestRunOutput, **problems("permission-denied")},
    )
    def post(self, request: Request) -> Response:
        return _queued(request, WalkForwardRequestInput, walkforward_request)


class BacktestRunDetail(generics.RetrieveAPIView):
    """One backtest run: its status and progress, parameters, metrics and trades."""

    serializer_class = BacktestRunDetailOutput
    permission_classes = [IsAuthenticated, holds(VIEW_PERM)]

    @extend_schema(operation_id="backtest_detail")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_object(self) -> BacktestRun:
        pk = self.kwargs["id"]
        return get_or_404(_runs(self.request), f"No backtest run {pk} that you may see.", pk=pk)


class EquityOutput(serializers.Serializer):
    id = serializers.IntegerField()
    dates = serializers.ListField(
        child=serializers.CharField(), help_text="Each bar's start in IST (a date for day bars)"
    )
    equity = serializers.ListField(child=serializers.FloatField())
    drawdown = serializers.ListField(
        child=serializers.FloatField(), help_text="Percent below the running peak (0 or less)"
    )


def _ist_labels(times: np.ndarray, interval: str) -> list[str]:
    local = np.asarray(times, dtype="datetime64[us]").astype("datetime64[m]") + IST_OFFSET
    if interval == Interval.DAY:
        return np.datetime_as_string(local, unit="D").tolist()
    return [f"{t}:00+05:30" for t in np.datetime_as_string(local, unit="m")]


class BacktestRunEquity(APIView):
    """A succeeded run's equity and drawdown, one value per bar, for a chart."""

    permission_classes = [IsAuthenticated, holds(VIEW_PERM)]

    @extend_schema(
        operation_id="backtest_equity", responses={200: EquityOutput, **problems("conflict")}
    )
    def get(self, request: Request, id: int) -> Response:
        run = get_or_404(_runs(request), f"No backtest run {id} that you may see.", pk=id)
        if run.status != BacktestRun.Status.SUCCEEDED:
            raise ProblemError(
                f"Backtest run {id} is {run.status}: it has no equity yet.", problem_type="conflict"
            )
        data = {
            "id": run.pk,
            "dates": _ist_labels(run.times, run.interval),
            "equity": run.equity.tolist(),
            "drawdown": run.drawdown.tolist(),
        }
        return Response(data)  # already EquityOutput's shape: plain lists of str and float
