"""Admin of the risk app. Every write goes through the services: adding a limit change proposes
it, the approve and reject actions decide it (never by the proposer), adding a kill switch
trips it, and the reset action lifts it (never by the one who tripped it). The breaches list
and the per-account exposure view are read-only; the exposure view can trip accounts' kill
switches."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.utils.html import format_html

from orders.choices import WORKING
from risk.choices import KillSwitchLevel, KillSwitchMode
from risk.models import (
    AccountExposure,
    Breach,
    Desk,
    KillSwitch,
    LimitChange,
    RiskLimit,
    limit_value_label,
)
from risk.monitors import RiskSnapshot, account_snapshot
from risk.selectors import desk_leaving_refusal
from risk.services import (
    FourEyesViolation,
    kill_switch_reset,
    kill_switch_trip,
    limit_decide,
    limit_propose,
)
from tradingsite.admin import ReadOnlyAdmin


class DeskForm(forms.ModelForm):
    class Meta:
        model = Desk
        fields = ["name", "accounts"]

    def clean_accounts(self):
        accounts = self.cleaned_data["accounts"]
        if self.instance.pk:
            leaving = set(self.instance.accounts.all()) - set(accounts)
            refusal = desk_leaving_refusal(desk=self.instance, leaving=leaving)
            if refusal:
                raise forms.ValidationError(refusal)
        return accounts


@admin.register(Desk)
class DeskAdmin(admin.ModelAdmin):
    """Accounts may join a desk at any time (its limits only tighten theirs); they leave a
    desk with limits in force only once those limits are changed under four eyes."""

    form = DeskForm
    list_display = ["name"]
    filter_horizontal = ["accounts"]


@admin.register(RiskLimit)
class RiskLimitAdmin(ReadOnlyAdmin):
    list_display = ["target_display", "kind", "value_display", "change", "updated_at"]
    list_select_related = ["desk", "account", "instrument", "change"]

    @admin.display(description="Applies to")
    def target_display(self, limit: RiskLimit) -> str:
        return limit.target_display

    @admin.display(description="Value")
    def value_display(self, limit: RiskLimit) -> str:
        return limit.value_display

    list_filter = ["scope", "kind"]


def _decide(modeladmin, request, queryset, approve: bool) -> None:
    for change in queryset:
        try:
            decided = limit_decide(change=change, actor=request.user, approve=approve)
            modeladmin.message_user(request, str(decided), messages.SUCCESS)
        except (FourEyesViolation, ValueError) as exc:
            modeladmin.message_user(request, f"{change}: {exc}", messages.ERROR)


@admin.action(description="Approve the selected changes", permissions=["approve"])
def approve_changes(modeladmin, request, queryset) -> None:
    _decide(modeladmin, request, queryset, approve=True)


@admin.action(description="Reject the selected changes", permissions=["approve"])
def reject_changes(modeladmin, request, queryset) -> None:
    _decide(modeladmin, request, queryset, approve=False)


@admin.register(LimitChange)
class LimitChangeAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "kind",
        "target_display",
        "proposed_value",
        "status",
        "proposed_by",
        "decided_by",
    ]
    list_filter = ["status", "kind", "scope"]
    fields = [
        "scope",
        "kind",
        "desk",
        "account",
        "instrument",
        "value",
        "products",
        "remove",
        "reason",
    ]
    actions = [approve_changes, reject_changes]
    list_select_related = ["desk", "account", "instrument", "proposed_by", "decided_by"]

    @admin.display(description="Applies to")
    def target_display(self, change: LimitChange) -> str:
        return change.target_display

    @admin.display(description="Proposed value")
    def proposed_value(self, change: LimitChange) -> str:
        return (
            "remove the limit"
            if change.remove
            else limit_value_label(change.kind, change.value, change.products)
        )

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request)

    def has_approve_permission(self, request) -> bool:
        return request.user.has_perm("risk.approve_limit_change")

    def save_model(self, request, obj, form, change) -> None:
        data = {f: getattr(obj, f) for f in self.fields}
        saved = limit_propose(actor=request.user, **data)
        obj.pk = saved.pk


@admin.action(description="Reset the selected kill switches", permissions=["reset"])
def reset_switches(modeladmin, request, queryset) -> None:
    for switch in queryset:
        try:
            reset = kill_switch_reset(switch=switch, actor=request.user)
            modeladmin.message_user(request, str(reset), messages.SUCCESS)
        except (FourEyesViolation, ValueError) as exc:
            modeladmin.message_user(request, f"{switch}: {exc}", messages.ERROR)


@admin.register(KillSwitch)
class KillSwitchAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "level",
        "mode",
        "account",
        "instrument",
        "algo_id",
        "reason",
        "tripped_by",
        "tripped_at",
        "reset_by",
        "reset_at",
    ]
    list_filter = ["level", "mode"]
    fields = ["level", "mode", "account", "instrument", "algo_id", "reason"]
    actions = [reset_switches]

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request)

    def has_reset_permission(self, request) -> bool:
        return request.user.has_perm("risk.reset_kill_switch")

    def has_add_permission(self, request) -> bool:
        return request.user.has_perm("risk.trip_kill_switch")

    def save_model(self, request, obj, form, change) -> None:
        switch, cancelled = kill_switch_trip(
            level=obj.level,
            mode=obj.mode,
            reason=obj.reason,
            actor=request.user,
            account=obj.account,
            instrument=obj.instrument,
            algo_id=obj.algo_id,
        )
        obj.pk = switch.pk
        messages.info(request, f"Tripped; {len(cancelled)} open order(s) cancelled.")


@admin.register(Breach)
class BreachAdmin(ReadOnlyAdmin):
    list_display = [
        "detected_at", "source", "kind", "account", "algo_id", "limit", "value", "kill_switch",
    ]  # fmt: skip
    list_filter = ["source", "kind"]
    list_select_related = ["account", "kill_switch"]
    search_fields = ["account__code", "algo_id"]

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("risk.view_exposure")


@admin.action(description="Trip the kill switch of the selected accounts", permissions=["trip"])
def trip_account_switches(modeladmin, request, queryset) -> None:
    for account in queryset:
        _, cancelled = kill_switch_trip(
            level=KillSwitchLevel.ACCOUNT,
            account=account,
            actor=request.user,
            reason=f"tripped from the exposure view by {request.user}",
        )
        modeladmin.message_user(
            request,
            f"{account}: halted; {len(cancelled)} open order(s) cancelled.",
            messages.WARNING,
        )


@admin.register(AccountExposure)
class AccountExposureAdmin(ReadOnlyAdmin):
    """Each active account's day P&L and exposure against its limits, as the monitors see it."""

    list_display = [
        "code", "day_pnl", "mark_to_market", "day_loss", "gross_exposure", "net_exposure",
        "open_positions", "open_orders", "breached", "halted",
    ]  # fmt: skip
    search_fields = ["code", "client__name"]
    actions = [trip_account_switches]

    def get_queryset(self, request):
        working = Count("orders", filter=Q(orders__status__in=WORKING))
        accounts = super().get_queryset(request).filter(status=AccountExposure.Status.ACTIVE)
        return accounts.annotate(working_orders=working)

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("risk.view_exposure")

    def has_trip_permission(self, request) -> bool:
        return request.user.has_perm("risk.trip_kill_switch")

    @staticmethod
    def snapshot(account) -> RiskSnapshot:
        if not hasattr(account, "_snapshot"):  # once per row, shared by its columns
            account._snapshot = account_snapshot(account)
        return account._snapshot

    def _against(self, account, figure: str, kind: str) -> str:
        snap = self.snapshot(account)
        limit = snap.limits.get(kind)
        return f"{getattr(snap, figure)} / {limit}" if limit else str(getattr(snap, figure))

    @admin.display(description="Day P&L")
    def day_pnl(self, account) -> str:
        return str(self.snapshot(account).day_pnl)

    @admin.display(description="MTM")
    def mark_to_market(self, account) -> str:
        return str(self.snapshot(account).mark_to_market)

    @admin.display(description="Day loss / limit")
    def day_loss(self, account) -> str:
        return self._against(account, "day_loss", "max_daily_loss")

    @admin.display(description="Gross / limit")
    def gross_exposure(self, account) -> str:
        return self._against(account, "gross_exposure", "max_gross_exposure")

    @admin.display(description="Net / limit")
    def net_exposure(self, account) -> str:
        return self._against(account, "net_exposure", "max_net_exposure")

    @admin.display(description="Open positions")
    def open_positions(self, account) -> int:
        return self.snapshot(account).open_positions

    @admin.display(description="Open orders")
    def open_orders(self, account) -> int:
        return account.working_orders

    @admin.display(description="Breached")
    def breached(self, account) -> str:
        return ", ".join(self.snapshot(account).breaches) or "-"

    @admin.display(description="Halted")
    def halted(self, account) -> str:
        """Only halted accounts are marked, in words: a blank cell means it trades."""
        mode = self.snapshot(account).kill_switch_mode
        if not mode:
            return ""
        return format_html(
            '<strong class="halted">{}</strong>',
            "Halted" if mode == KillSwitchMode.HALT else "Reduce only",
        )
