"""The admin of backtest runs: their results (metrics, trades, the equity and drawdown
chart; a walk-forward's windows and degradation), forms that run a backtest
(``backtest_request``) or a walk-forward (``walkforward_request``) on the ``backtests``
queue, and a page that compares selected runs side by side.

Only holders of ``strategies.view_strategies`` see runs (their own; every user's with
``strategies.view_backtestrun``); running needs ``strategies.run_backtest``, deleting
``strategies.delete_backtestrun``. Runs are written by their services only: nothing here
adds or edits one.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from marketdata.choices import Interval
from strategies.charts import compare_chart_png, run_chart_png
from strategies.models import BacktestRun
from strategies.selectors import RUN_PERM, VIEW_PERM, backtest_runs_for, strategy_catalogue
from strategies.services import BacktestRefused, backtest_request, walkforward_request
from strategies.walkforward import BOUNDARIES, OBJECTIVES

#: Metrics shown first, in this order; any others the engine adds follow by name.
METRICS = [
    "total_return", "cagr", "sharpe", "sortino", "max_drawdown_pct", "profit_factor",
    "win_rate", "num_trades", "exposure", "total_pnl", "final_equity",
]  # fmt: skip
TRADES_SHOWN = 500
COMPARE_MAX = 8


def _number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".") if abs(value) < 1e6 else f"{value:,.2f}"
    return str(value)


def _when(label: str) -> str:
    """A bar's label, short: ``2026-12-03 09:15`` for an intraday one (IST, as labelled)."""
    return label[:16].replace("T", " ") if "T" in label else label


def _metric_names(runs: list[BacktestRun]) -> list[str]:
    found = {name for run in runs for name in run.metrics}
    return [m for m in METRICS if m in found] + sorted(found - set(METRICS))


class RunForm(forms.Form):
    """What a quant asks for; the service checks it all again (and the strategy its params)."""

    strategy = forms.ChoiceField()
    instrument = forms.CharField(max_length=30, help_text="e.g. NSE:INFY")
    second_instrument = forms.CharField(
        max_length=30, required=False, help_text="The second leg, for pairs only (e.g. NSE:TCS)"
    )
    interval = forms.ChoiceField(choices=Interval.choices, initial=Interval.DAY)
    date_from = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    quantity = forms.IntegerField(min_value=1, initial=1)
    cash = forms.DecimalField(max_digits=16, decimal_places=2, initial=1_000_000)
    commission_pct = forms.DecimalField(
        max_digits=7, decimal_places=4, initial=0, help_text="Percent of each fill's value"
    )
    slippage_bps = forms.DecimalField(max_digits=7, decimal_places=2, initial=0)
    costs = forms.ChoiceField(choices=BacktestRun.Costs.choices, initial=BacktestRun.Costs.NONE)
    sizing = forms.ChoiceField(
        choices=BacktestRun.Sizing.choices, initial=BacktestRun.Sizing.FIXED, required=False,
        help_text="Risk: each entry risks risk % of equity at a stop ATR(14) x stop ATRs away "
        "(at most what the equity buys); the quantity above is then unused",
    )  # fmt: skip
    risk_pct = forms.DecimalField(
        max_digits=5, decimal_places=2, required=False, label="Risk %",
        help_text="Risk sizing only; default 2",
    )  # fmt: skip
    stop_atr = forms.DecimalField(
        max_digits=5, decimal_places=2, required=False, label="Stop (ATRs)",
        help_text="Risk sizing only; default 2",
    )  # fmt: skip
    field_order = ["strategy", "params", "space"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["strategy"].choices = [
            (cls.name, f"{cls.title}{' (beta)' if cls.beta else ''}")
            for cls in strategy_catalogue()
        ]


class BacktestRunForm(RunForm):
    params = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 40, "placeholder": "fast=10\nslow=30"}),
        help_text="NAME=VALUE lines, or a JSON object; parameters left out take their default.",
    )


class WalkForwardForm(RunForm):
    space = forms.CharField(
        widget=forms.Textarea(
            attrs={"rows": 4, "cols": 40, "placeholder": "fast=5,10,20\nslow=30,60"}
        ),
        help_text="One parameter a line: NAME=v1,v2,... for a grid (every combination), or "
        "NAME=LOW:HIGH for random search with samples; parameters left out take their default.",
    )  # fmt: skip
    samples = forms.IntegerField(min_value=1, required=False, help_text="Random search only")
    seed = forms.IntegerField(min_value=0, required=False, initial=0)
    windows = forms.IntegerField(min_value=1, max_value=50, initial=5)
    in_sample = forms.IntegerField(
        min_value=2, required=False, help_text="Bars per in-sample window (default: 4 x OOS)"
    )
    out_of_sample = forms.IntegerField(
        min_value=2, required=False, help_text="Bars per out-of-sample window (default: fits)"
    )
    anchored = forms.BooleanField(required=False, help_text="In-sample grows from the first bar")
    boundary = forms.ChoiceField(
        choices=[(b, b) for b in BOUNDARIES], required=False,
        help_text="carry: a position stays open across windows; flatten: sold at each boundary",
    )  # fmt: skip
    objective = forms.ChoiceField(
        choices=[(o, o) for o in OBJECTIVES], initial="sharpe", required=False
    )


@admin.register(BacktestRun)
class BacktestRunAdmin(admin.ModelAdmin):
    list_display = [
        "id", "kind", "strategy", "data", "status", "progress", "total_return", "sharpe",
        "max_drawdown", "trades_count", "requested_by", "created_at",
    ]  # fmt: skip
    list_filter = ["kind", "status", "strategy", "interval"]
    search_fields = ["strategy", "instrument__tradingsymbol", "source"]
    actions = ["compare_selected"]
    fieldsets = [
        (
            "Run",
            {
                "fields": [
                    "kind", "strategy", "params_shown", "data", "quantity", "sizing_shown",
                    "cash", "commission_pct", "slippage_bps", "costs", "plan_shown",
                ]
            },
        ),
        (
            "How it went",
            {
                "fields": [
                    "status", "error", "progress", "bar_count", "code_version", "requested_by",
                    "created_at", "started_at", "finished_at",
                ]
            },
        ),
        (
            "Results",
            {
                "fields": [
                    "metrics_table", "degradation_table", "windows_table", "chart",
                    "open_position", "trades_table",
                ]
            },
        ),
    ]  # fmt: skip
    readonly_fields = [
        "kind", "strategy", "params_shown", "data", "quantity", "sizing_shown", "plan_shown",
        "degradation_table", "windows_table", "cash", "commission_pct",
        "slippage_bps", "costs", "status", "error", "progress", "bar_count", "code_version",
        "requested_by", "created_at", "started_at", "finished_at", "metrics_table", "chart",
        "open_position", "trades_table",
    ]  # fmt: skip
    change_list_template = "admin/strategies/backtestrun/change_list.html"

    # --- who sees what ---------------------------------------------------------------
    def get_queryset(self, request: HttpRequest):
        return backtest_runs_for(user=request.user).select_related("job_run")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(VIEW_PERM)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm(VIEW_PERM)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # runs are requested through the "Run a backtest" form

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm(VIEW_PERM) and super().has_delete_permission(request, obj)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        extra = {"may_run": request.user.has_perm(RUN_PERM), **(extra_context or {})}
        return super().changelist_view(request, extra)

    # --- columns and read-only fields --------------------------------------------------
    @admin.display(description="data")
    def data(self, run: BacktestRun) -> str:
        return run.data_label

    @admin.display(description="parameters")
    def params_shown(self, run: BacktestRun) -> str:
        return ", ".join(f"{k}={v}" for k, v in run.params.items()) or "-"

    @admin.display(description="sizing")
    def sizing_shown(self, run: BacktestRun) -> str:
        if run.sizing == BacktestRun.Sizing.RISK:
            return f"risk {run.risk_pct} % of equity at a stop {run.stop_atr} x ATR(14) away"
        return f"fixed: {run.quantity} a leg"

    @admin.display(description="walk-forward")
    def plan_shown(self, run: BacktestRun) -> str:
        plan = run.walk_forward
        if not plan:
            return "-"
        space = plan["space"]
        if "grid" in space:
            axes = "; ".join(f"{k}={','.join(map(str, v))}" for k, v in space["grid"].items())
            searched = f"grid {axes}"
        else:
            axes = "; ".join(f"{k}={lo}:{hi}" for k, (lo, hi) in space["random"].items())
            searched = f"random {axes} ({space['samples']} samples, seed {space['seed']})"
        return (
            f"{searched}: {plan['points']} points ({plan['skipped_count']} skipped); "
            f"{plan['windows']} {'anchored' if plan['anchored'] else 'rolling'} windows "
            f"(in-sample {plan['in_sample'] or 'default'}, out-of-sample "
            f"{plan['out_of_sample'] or 'default'} bars); best by {plan['objective']}; "
            f"{plan['boundary']} at boundaries"
        )

    @admin.display(description="in-sample against out-of-sample")
    def degradation_table(self, run: BacktestRun) -> str:
        if not run.degradation:
            return "-"
        columns = ["windows", "in_sample_mean", "out_of_sample_mean", "difference", "ratio"]
        head = format_html_join("", "<th>{}</th>", ((c,) for c in ["metric", *columns]))
        body = format_html_join(
            "", "<tr><th>{}</th>" + "<td>{}</td>" * len(columns) + "</tr>",
            ((m, *(_number(d.get(c)) for c in columns)) for m, d in run.degradation.items()),
        )  # fmt: skip
        return format_html(
            '<table class="walkforward-degradation"><thead><tr>{}</tr></thead><tbody>{}</tbody>'
            "</table>", head, body,
        )  # fmt: skip

    @admin.display(description="windows")
    def windows_table(self, run: BacktestRun) -> str:
        if not run.windows:
            return "-"
        shown = [("sharpe", "Sharpe"), ("total_return", "return")]
        head = format_html_join(
            "", "<th>{}</th>",
            ((c,) for c in ["#", "in-sample", "out-of-sample", "chosen",
                            *(f"{label} IS / OOS" for _, label in shown), "OOS trades"]),
        )  # fmt: skip
        rows = (
            (
                w["index"],
                f"{_when(w['is_first'])} .. {_when(w['is_last'])}",
                f"{_when(w['oos_first'])} .. {_when(w['oos_last'])}",
                ", ".join(f"{k}={v}" for k, v in w["params"].items()),
                *(
                    f"{_number(w['in_sample'].get(m))} / {_number(w['out_of_sample'].get(m))}"
                    for m, _ in shown
                ),
                _number(w["out_of_sample"].get("num_trades")),
            )
            for w in run.windows
        )
        body = format_html_join("", "<tr>" + "<td>{}</td>" * (5 + len(shown)) + "</tr>", rows)
        return format_html(
            '<table class="walkforward-windows"><thead><tr>{}</tr></thead><tbody>{}</tbody>'
            "</table>", head, body,
        )  # fmt: skip

    @admin.display(description="progress")
    def progress(self, run: BacktestRun) -> str:
        job = run.job_run
        if job is None:
            return "-"
        percent = f" ({job.percent} %)" if job.percent is not None else ""
        total = f" of {job.total}" if job.total is not None else ""
        said = f": {job.message}" if job.message else ""
        return f"{job.done}{total} {job.unit}{percent}{said}"

    @admin.display(description="return")
    def total_return(self, run: BacktestRun) -> str:
        return _number(run.metrics.get("total_return"))

    @admin.display(description="Sharpe")
    def sharpe(self, run: BacktestRun) -> str:
        return _number(run.metrics.get("sharpe"))

    @admin.display(description="max DD %")
    def max_drawdown(self, run: BacktestRun) -> str:
        return _number(run.metrics.get("max_drawdown_pct"))

    @admin.display(description="trades")
    def trades_count(self, run: BacktestRun) -> str:
        return str(len(run.trades)) if run.status == BacktestRun.Status.SUCCEEDED else "-"

    @admin.display(description="metrics")
    def metrics_table(self, run: BacktestRun) -> str:
        if not run.metrics:
            return "-"
        rows = format_html_join(
            "", "<tr><th>{}</th><td>{}</td></tr>",
            ((name, _number(run.metrics[name])) for name in _metric_names([run])),
        )  # fmt: skip
        return format_html('<table class="backtest-metrics">{}</table>', rows)

    @admin.display(description="equity and drawdown")
    def chart(self, run: BacktestRun) -> str:
        if run.status != BacktestRun.Status.SUCCEEDED:
            return "-"
        url = reverse("admin:strategies_backtestrun_chart", args=[run.pk])
        return format_html(
            '<img src="{}" alt="Equity and drawdown of backtest {}" width="1000" height="600">',
            url, run.pk,
        )  # fmt: skip

    @admin.display(description="trades")
    def trades_table(self, run: BacktestRun) -> str:
        if not run.trades:
            return "-"
        columns = ["entry_date", "entry_price", "exit_date", "exit_price", "quantity", "pnl"]
        head = format_html_join("", "<th>{}</th>", ((c,) for c in ["#", *columns]))
        body = format_html_join(
            "", "<tr><td>{}</td>" + "<td>{}</td>" * len(columns) + "</tr>",
            (
                (i, *(_number(t.get(c)) for c in columns))
                for i, t in enumerate(run.trades[:TRADES_SHOWN], 1)
            ),
        )  # fmt: skip
        more = len(run.trades) - TRADES_SHOWN
        note = format_html("<p>and {} more (the API has them all)</p>", more) if more > 0 else ""
        return format_html(
            '<table class="backtest-trades"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>{}',
            head, body, note,
        )  # fmt: skip

    # --- pages of its own ---------------------------------------------------------------
    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            *self._own_urls(wrap),
            *super().get_urls(),
        ]

    def _own_urls(self, wrap) -> list:
        return [
            path("run/", wrap(self.run_view), name="strategies_backtestrun_run"),
            path(
                "walkforward/", wrap(self.walkforward_view),
                name="strategies_backtestrun_walkforward",
            ),
            path("compare/", wrap(self.compare_view), name="strategies_backtestrun_compare"),
            path(
                "compare.png", wrap(self.compare_chart_view),
                name="strategies_backtestrun_compare_chart",
            ),
            path(
                "<int:pk>/chart.png", wrap(self.chart_view), name="strategies_backtestrun_chart"
            ),
        ]  # fmt: skip

    def _visible(self, request: HttpRequest, pk: int) -> BacktestRun:
        if not request.user.has_perm(VIEW_PERM):
            raise PermissionDenied
        run = self.get_queryset(request).filter(pk=pk).first()
        if run is None:
            raise Http404(f"No backtest run {pk} that you may see.")
        return run

    def chart_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The run's equity and drawdown as a PNG."""
        run = self._visible(request, pk)
        if run.status != BacktestRun.Status.SUCCEEDED:
            raise Http404(f"Backtest run {pk} is {run.status}: it has no chart.")
        response = HttpResponse(run_chart_png(run), content_type="image/png")
        response["Cache-Control"] = "private, max-age=3600"  # a finished run never changes
        return response

    def run_view(self, request: HttpRequest) -> HttpResponse:
        """The "Run a backtest" form: queues one through ``backtest_request``."""
        return self._request_view(
            request, BacktestRunForm, backtest_request, "backtest",
            "A backtest trades the strategy with these parameters over the range.",
        )  # fmt: skip

    def walkforward_view(self, request: HttpRequest) -> HttpResponse:
        """The "Run a walk-forward" form: queues one through ``walkforward_request``."""
        return self._request_view(
            request, WalkForwardForm, walkforward_request, "walk-forward",
            "A walk-forward splits the range into windows; in each, every point of the space "
            "is backtested on the in-sample bars, and the best trades the out-of-sample bars "
            "that follow, never seen in its choice. The out-of-sample runs are stitched.",
        )  # fmt: skip

    def _request_view(self, request, form_class, service, what: str, intro: str):
        if not (request.user.has_perm(VIEW_PERM) and request.user.has_perm(RUN_PERM)):
            raise PermissionDenied
        form = form_class(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                run = service(user=request.user, data=form.cleaned_data)
            except BacktestRefused as refused:
                for field, said in refused.errors.items():
                    form.add_error(field if field in form.fields else None, said)
            else:
                messages.success(request, f"{what.capitalize()} {run.pk} of {run.strategy} queued.")
                return HttpResponseRedirect(
                    reverse("admin:strategies_backtestrun_change", args=[run.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Run a {what}",
            "intro": intro,
            "submit_label": f"Run {what}",
            "form": form,
            "catalogue": strategy_catalogue(),
        }
        return TemplateResponse(request, "admin/strategies/backtestrun/run.html", context)

    @admin.action(description="Compare selected backtests")
    def compare_selected(self, request: HttpRequest, queryset) -> HttpResponseRedirect:
        ids = ",".join(
            str(pk) for pk in queryset.order_by("pk").values_list("pk", flat=True)[:COMPARE_MAX]
        )
        return HttpResponseRedirect(f"{reverse('admin:strategies_backtestrun_compare')}?ids={ids}")

    def _compared(self, request: HttpRequest) -> list[BacktestRun]:
        if not request.user.has_perm(VIEW_PERM):
            raise PermissionDenied
        try:
            ids = [int(i) for i in request.GET.get("ids", "").split(",") if i.strip()]
        except ValueError:
            raise Http404("ids is a comma-separated list of run numbers.") from None
        runs = list(self.get_queryset(request).filter(pk__in=ids[:COMPARE_MAX]).order_by("pk"))
        if not runs:
            raise Http404("No backtest runs that you may see among those asked for.")
        return runs

    def compare_view(self, request: HttpRequest) -> HttpResponse:
        """Selected runs side by side: their parameters, data and metrics, one chart."""
        runs = self._compared(request)
        param_names = sorted({name for run in runs for name in run.params})
        rows = [
            ("kind", [run.get_kind_display() for run in runs]),
            ("strategy", [run.strategy for run in runs]),
            ("data", [run.data_label for run in runs]),
            ("status", [run.get_status_display() for run in runs]),
            *((f"param {n}", [_number(run.params.get(n)) for run in runs]) for n in param_names),
            ("quantity", [run.quantity for run in runs]),
            ("cash", [run.cash for run in runs]),
            ("commission %", [run.commission_pct for run in runs]),
            ("slippage bps", [run.slippage_bps for run in runs]),
            ("costs", [run.costs for run in runs]),
            *((m, [_number(run.metrics.get(m)) for run in runs]) for m in _metric_names(runs)),
            ("code version", [run.code_version or "-" for run in runs]),
        ]
        ids = ",".join(str(run.pk) for run in runs)
        succeeded = any(run.status == BacktestRun.Status.SUCCEEDED for run in runs)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Backtests compared",
            "runs": runs,
            "rows": rows,
            "chart_url": (
                f"{reverse('admin:strategies_backtestrun_compare_chart')}?ids={ids}"
                if succeeded
                else ""
            ),
        }
        return TemplateResponse(request, "admin/strategies/backtestrun/compare.html", context)

    def compare_chart_view(self, request: HttpRequest) -> HttpResponse:
        """The compared runs' equity, as return on cash, on one PNG."""
        runs = [r for r in self._compared(request) if r.status == BacktestRun.Status.SUCCEEDED]
        if not runs:
            raise Http404("None of these runs has succeeded: nothing to chart.")
        return HttpResponse(compare_chart_png(runs), content_type="image/png")


from strategies.live import admin as live_admin  # noqa: E402, F401  (registers deployments)
