"""The compliance desk's alert queue (surveillance and monitoring) and its rules, in the
admin.

Officers (``compliance.manage_surveillance_case``) filter the queue by rule, status,
priority and age, see its counts, assign alerts to an officer in bulk and dismiss them
with a reason; both go through ``compliance.alerts.services``, audited. A rule's
parameters are checked against the rule's expected keys before they are saved. Auditors
see everything and change nothing. Traders and clients are not staff: no page of the
admin is theirs (tipping-off).
"""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from compliance.alerts.models import Alert, AlertRule
from compliance.alerts.services import (
    AlertNotOpen,
    alert_assign,
    alert_dismiss,
    alert_rule_update,
)
from compliance.cases.services import CaseRefused, case_open
from compliance.monitoring import rules as monitoring_rules
from compliance.queues import ASSIGNEE_FILTER, age_filter, age_text, officers
from compliance.surveillance import rules as surveillance_rules
from compliance.surveillance.models import ClientGroup, ClientLink

WORK_ALERTS = "compliance.manage_surveillance_case"
#: rule kind -> the module that says its rules' parameters (PARAMS) and checks them
RULES_OF_KIND = {
    AlertRule.Kind.SURVEILLANCE: surveillance_rules,
    AlertRule.Kind.MONITORING: monitoring_rules,
}
EVIDENCE_ADMIN = {"order": "orders_order", "fill": "orders_fill", "ledger": "orders_ledgerentry",
                  "audit": "compliance_auditevent"}  # fmt: skip


class AlertActionForm(ActionForm):
    assignee = forms.ModelChoiceField(
        queryset=get_user_model().objects.none(), required=False, label="Officer"
    )
    reason = forms.CharField(
        required=False, max_length=500, label="Reason (to dismiss) / title (of a new case)"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = officers("manage_surveillance_case")


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["id", "rule", "priority", "status", "summary", "score", "assignee",
                    "raised_at", "age"]  # fmt: skip
    list_filter = [
        "rule__kind", "rule", "status", "priority", age_filter("raised_at"), ASSIGNEE_FILTER
    ]  # fmt: skip
    search_fields = ["summary", "subject_key", "=algo_id"]
    ordering = ["status", "-priority", "raised_at"]
    list_select_related = ["rule", "assignee"]
    action_form = AlertActionForm
    actions = ["assign_to_officer", "dismiss_alerts", "open_case"]
    fields = ["rule", "status", "priority", "summary", "score", "subject_key", "client",
              "account", "instrument", "algo_id", "window_start", "window_end",
              "evidence_links", "detail", "assignee", "raised_at", "updated_at"]  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # an alert changes only through the actions (services)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_work_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(WORK_ALERTS)

    @admin.display(description="age")
    def age(self, alert: Alert) -> str:
        return age_text(alert.raised_at)

    @admin.display(description="evidence")
    def evidence_links(self, alert: Alert) -> str:
        links = []
        for ref in alert.evidence:
            try:
                url = reverse(f"admin:{EVIDENCE_ADMIN[ref['kind']]}_change", args=[ref["id"]])
            except (KeyError, NoReverseMatch):  # a kind with no admin page: shown, not linked
                url = "#"
            links.append((url, f"{ref['kind']} {ref['id']}"))
        return format_html_join(", ", '<a href="{}">{}</a>', links) or "-"

    def changelist_view(self, request: HttpRequest, extra_context=None):
        counts = Alert.objects.aggregate(
            open=Count("id", filter=Q(status=Alert.Status.OPEN)),
            high=Count("id", filter=Q(status=Alert.Status.OPEN, priority=Alert.Priority.HIGH)),
            unassigned=Count("id", filter=Q(status=Alert.Status.OPEN, assignee__isnull=True)),
            older_than_week=Count(
                "id",
                filter=Q(status=Alert.Status.OPEN, raised_at__lte=timezone.now() - timedelta(7)),
            ),
        )
        by_rule = (
            Alert.objects.filter(status=Alert.Status.OPEN)
            .values("rule__name")
            .annotate(n=Count("id"))
            .order_by("-n", "rule__name")
        )
        extra_context = {**(extra_context or {}), "queue_counts": counts, "by_rule": by_rule}
        return super().changelist_view(request, extra_context)

    @admin.action(
        description="Assign the selected open alerts to the officer", permissions=["work"]
    )
    def assign_to_officer(self, request: HttpRequest, queryset) -> None:
        form = AlertActionForm(request.POST)
        officer = form.fields["assignee"].clean(request.POST.get("assignee") or None)
        if officer is None:
            self.message_user(request, "Choose the officer to assign to.", messages.ERROR)
            return
        assigned = alert_assign(alerts=list(queryset), assignee=officer, actor=request.user)
        self.message_user(request, f"{assigned} alert(s) assigned to {officer.get_username()}.")

    @admin.action(description="Dismiss the selected alerts (no action)", permissions=["work"])
    def dismiss_alerts(self, request: HttpRequest, queryset) -> None:
        reason = (request.POST.get("reason") or "").strip()
        if not reason:
            self.message_user(request, "Give the reason for dismissing.", messages.ERROR)
            return
        dismissed, refused = 0, []
        for alert in queryset.order_by("pk"):
            try:
                alert_dismiss(alert=alert, actor=request.user, reason=reason)
                dismissed += 1
            except AlertNotOpen as error:
                refused.append(str(error))
        self.message_user(request, f"{dismissed} alert(s) dismissed.")
        if refused:
            self.message_user(request, "Not dismissed: " + "; ".join(refused), messages.WARNING)

    @admin.action(description="Open a case on the selected alerts (title in the box)",
                  permissions=["work"])  # fmt: skip
    def open_case(self, request: HttpRequest, queryset) -> None:
        alerts = list(queryset.order_by("pk"))
        title = (request.POST.get("reason") or "").strip() or alerts[0].summary
        try:
            case = case_open(title=title, actor=request.user, alerts=alerts)
        except CaseRefused as no:
            self.message_user(request, f"No case opened: {no.detail}", messages.ERROR)
            return
        url = reverse("admin:compliance_case_change", args=[case.pk])
        self.message_user(
            request, format_html('<a href="{}">{}</a> opened on {} alert(s).', url, case.ref,
                                 len(alerts)),
        )  # fmt: skip


class AlertRuleForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        fields = ["params", "enabled"]

    def clean_params(self):
        params = self.cleaned_data["params"]
        known = RULES_OF_KIND.get(self.instance.kind)
        if known is not None and self.instance.code in known.PARAMS:
            try:
                known.params_validate(self.instance.code, params)
            except ValidationError as error:
                raise ValidationError(
                    [f"{self.instance.code}: {m}" for m in error.messages]
                ) from None
        elif not isinstance(params, dict):
            raise ValidationError("The parameters must be a JSON object of name: value.")
        return params


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    form = AlertRuleForm
    list_display = ["name", "code", "kind", "enabled", "open_alerts", "updated_at"]
    list_filter = ["kind", "enabled"]
    fields = ["code", "kind", "name", "description", "expected", "params", "enabled"]
    readonly_fields = ["code", "kind", "name", "description", "expected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a rule is code and data together: its migration adds it

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(open_count=Count("alerts", filter=Q(alerts__status=Alert.Status.OPEN)))
        )

    @admin.display(description="open alerts", ordering="open_count")
    def open_alerts(self, rule: AlertRule) -> int:
        return rule.open_count

    @admin.display(description="expected parameters")
    def expected(self, rule: AlertRule) -> str:
        known = RULES_OF_KIND.get(rule.kind)
        spec = known.PARAMS.get(rule.code) if known is not None else None
        if not spec:
            return "-"
        return format_html_join(", ", "<code>{}</code> ({})", sorted(spec.items()))

    def save_model(self, request, obj, form, change) -> None:
        alert_rule_update(
            rule=obj, params=form.cleaned_data["params"], enabled=form.cleaned_data["enabled"],
            actor=request.user,
        )  # fmt: skip


class ClientLinkInline(admin.TabularInline):
    model = ClientLink
    extra = 1
    autocomplete_fields = ["client"]


@admin.register(ClientGroup)
class ClientGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "relation", "members", "created_at"]
    list_filter = ["relation"]
    search_fields = ["name"]
    inlines = [ClientLinkInline]

    @admin.display(description="members")
    def members(self, group: ClientGroup) -> int:
        return group.links.count()
