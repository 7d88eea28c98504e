"""Admin of the risk app. Every write goes through the services: adding a limit change proposes
it, the approve and reject actions decide it (never by the proposer), adding a kill switch
trips it, and the reset action lifts it (never by the one who tripped it)."""

from django.contrib import admin, messages

from risk.models import Desk, KillSwitch, LimitChange, RiskLimit
from risk.services import (
    FourEyesViolation,
    kill_switch_reset,
    kill_switch_trip,
    limit_decide,
    limit_propose,
)
from tradingsite.admin import ReadOnlyAdmin


@admin.register(Desk)
class DeskAdmin(admin.ModelAdmin):
    list_display = ["name"]
    filter_horizontal = ["accounts"]


@admin.register(RiskLimit)
class RiskLimitAdmin(ReadOnlyAdmin):
    list_display = ["target", "kind", "value", "products", "change", "updated_at"]
    list_filter = ["scope", "kind"]


def _decide(modeladmin, request, queryset, approve: bool) -> None:
    for change in queryset:
        try:
            limit_decide(change=change, actor=request.user, approve=approve)
            modeladmin.message_user(
                request, f"{change}: {'approved' if approve else 'rejected'}.", messages.SUCCESS
            )
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
        "scope",
        "desk",
        "account",
        "instrument",
        "value",
        "products",
        "remove",
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
            kill_switch_reset(switch=switch, actor=request.user)
            modeladmin.message_user(request, f"{switch}: reset.", messages.SUCCESS)
        except (FourEyesViolation, ValueError) as exc:
            modeladmin.message_user(request, f"{switch}: {exc}", messages.ERROR)


@admin.register(KillSwitch)
class KillSwitchAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "level",
        "account",
        "instrument",
        "algo_id",
        "reason",
        "tripped_by",
        "tripped_at",
        "reset_by",
        "reset_at",
    ]
    list_filter = ["level"]
    fields = ["level", "account", "instrument", "algo_id", "reason"]
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
            reason=obj.reason,
            actor=request.user,
            account=obj.account,
            instrument=obj.instrument,
            algo_id=obj.algo_id,
        )
        obj.pk = switch.pk
        messages.info(request, f"Tripped; {len(cancelled)} open order(s) cancelled.")
