"""Admin of deployments: created through ``deployment_create`` (a form), started, paused and
stopped through their services (actions, each audited), decisions read-only. Nothing is
edited in place or deleted (kept records)."""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from marketdata.models import Instrument
from orders.models import TradingAccount
from strategies.live.models import DeploymentDecision, StrategyDeployment
from strategies.live.services import (
    DEPLOY_PERMISSION,
    DeploymentRefused,
    deployment_create,
    deployment_pause,
    deployment_start,
    deployment_stop,
)


class DeploymentForm(forms.ModelForm):
    """The fields a deployment is made of; ``params`` as JSON (``{"fast": 10}``). Cleaning
    it makes the deployment through ``deployment_create`` (the admin sets ``actor``), so a
    refusal shows on the form."""

    actor = None
    made: StrategyDeployment | None = None

    class Meta:
        model = StrategyDeployment
        fields = ["strategy", "params", "account", "instrument", "second_instrument",
                  "product", "quantity", "sizing", "risk_pct", "stop_atr", "capital", "algo_id",
                  "mode", "history_from"]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        import strategies.catalogue  # noqa: F401  (registers every strategy)
        from strategies.base import STRATEGIES

        if "strategy" not in self.fields:
            return  # an existing deployment: every field is read-only
        self.fields["strategy"] = forms.ChoiceField(
            choices=[(name, cls.title) for name, cls in sorted(STRATEGIES.items())]
        )
        self.fields["account"].queryset = TradingAccount.objects.order_by("code")
        self.fields["instrument"].queryset = Instrument.objects.order_by("tradingsymbol")
        self.fields[
            "history_from"
        ].help_text = "The first bar the strategy reads: early enough for its warm-up"

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            self.made = deployment_create(actor=self.actor, **data)
        except (DeploymentRefused, PermissionError) as error:
            raise forms.ValidationError(str(error)) from None
        return data


class DecisionInline(admin.TabularInline):
    model = DeploymentDecision
    fields = ["bar_start", "targets_before", "targets_after", "outcome", "order_ids", "message"]
    readonly_fields = fields
    extra = 0
    ordering = ["-bar_start"]
    max_num = 0

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(StrategyDeployment)
class StrategyDeploymentAdmin(admin.ModelAdmin):
    form = DeploymentForm
    list_display = ["pk", "strategy", "account", "instrument", "algo_id", "mode", "status",
                    "targets", "last_bar", "created_by"]  # fmt: skip
    list_filter = ["status", "mode", "strategy"]
    search_fields = ["algo_id", "account__code"]
    inlines = [DecisionInline]
    actions = ["start", "pause", "stop"]

    def has_add_permission(self, request) -> bool:
        return request.user.has_perm(DEPLOY_PERMISSION)

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and request.user.has_perm(DEPLOY_PERMISSION)  # the list's actions

    def has_deploy_permission(self, request) -> bool:
        return request.user.has_perm(DEPLOY_PERMISSION)

    def get_inlines(self, request, obj=None):
        return self.inlines if obj is not None else []  # a new deployment has no decisions

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [f.name for f in StrategyDeployment._meta.fields]

    def get_changeform_initial_data(self, request):
        return {"history_from": timezone.now() - timedelta(days=3), "quantity": 1}

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def save_model(self, request, obj, form, change) -> None:
        obj.pk = form.made.pk  # made by deployment_create when the form was cleaned
        obj._state.adding = False

    def _each(self, request, queryset, move, done: str) -> None:
        for deployment in queryset.order_by("pk"):
            try:
                move(deployment, actor=request.user)
                self.message_user(request, f"Deployment {deployment.pk} {done}.", messages.SUCCESS)
            except (DeploymentRefused, PermissionError) as error:
                self.message_user(request, str(error), messages.ERROR)

    @admin.action(description="Start (or resume) the selected deployments", permissions=["deploy"])
    def start(self, request, queryset):
        self._each(request, queryset, deployment_start, "started")

    @admin.action(description="Pause the selected deployments", permissions=["deploy"])
    def pause(self, request, queryset):
        self._each(request, queryset, deployment_pause, "paused")

    @admin.action(description="Stop the selected deployments for good", permissions=["deploy"])
    def stop(self, request, queryset):
        self._each(request, queryset, deployment_stop, "stopped")
