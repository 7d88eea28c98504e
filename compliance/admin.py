"""Admin of the compliance app: clients, and the audit trail (read-only, with a verifier);
KYC, screening, surveillance, cases and contract notes register theirs below.

The trail's fields are ``editable=False``, so its detail pages list them as read-only
fields (a form would show none); times are shown in IST, before and after as JSON.
"""

import json
from datetime import datetime

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from stdnum.in_ import pan as pan_number

from compliance.actions import action_display
from compliance.models import AuditCheckpoint, AuditEvent, Client
from compliance.selectors import audit_checkpoint_latest, audit_checkpoint_schedule
from compliance.verify import audit_verify
from marketdata.calendar import IST
from tradingsite.admin import ReadOnlyAdmin

VIEW_AUDIT_TRAIL = "compliance.view_audit_trail"
VERIFY_AUDIT_TRAIL = "compliance.verify_audit_trail"


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = [
        "name", "pan", "kyc_status", "kra_status", "risk_category", "rekyc_due_on", "created_at"
    ]  # fmt: skip
    list_filter = ["kyc_status", "kra_status", "risk_category"]
    search_fields = ["name"]  # and the exact PAN, through its blind index (below)
    # The KYC state is set by the KYC services alone (approval by a second officer, the KRA):
    # nobody sets it here.
    readonly_fields = [
        "kyc_status", "kyc_verified_at", "kra_status", "risk_category", "rekyc_due_on",
        "created_at",
    ]  # fmt: skip

    def get_readonly_fields(self, request, obj=None):
        # A client's PAN is their identity: it is fixed once the client exists.
        return ["pan", *self.readonly_fields] if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if not change or "name" in form.changed_data:
            # Onboarding today (until the KYC flow calls it): screen a new or renamed client.
            from compliance.screening.services import client_screen

            hits = client_screen(client=obj)
            if hits:
                self.message_user(
                    request,
                    f"AML screening raised {len(hits)} hit(s) on {obj.name}: see Screening hits.",
                    messages.WARNING,
                )

    def get_search_results(self, request, queryset, search_term):
        found, duplicates = super().get_search_results(request, queryset, search_term)
        if pan_number.is_valid(search_term.strip().upper()):
            found |= queryset.filter(pan_digest=Client.pan_index(search_term))
        return found, duplicates


def in_ist(moment: datetime | None) -> str:
    """A time as the desk reads it: "20 Nov 2026, 10:30:00 IST"."""
    if moment is None:
        return "-"
    return f"{timezone.localtime(moment, IST):%d %b %Y, %H:%M:%S} IST"


def json_block(value) -> str:
    """``value`` as indented JSON in a <pre>, escaped (its text comes from the audited data)."""
    if value is None:
        return "-"
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    return format_html('<pre class="audit-json">{}</pre>', text)


class AuditTrailAdmin(ReadOnlyAdmin):
    """Read-only, and only for those who may read the audit trail."""

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm(VIEW_AUDIT_TRAIL)


class ActionFilter(admin.SimpleListFilter):
    """The actions on the trail, by their labels; the query string keeps the code."""

    title = "action"
    parameter_name = "action"

    def lookups(self, request, model_admin):
        codes = AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct()
        return sorted(((code, action_display(code)) for code in codes), key=lambda c: c[1])

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(AuditTrailAdmin):
    list_display = [
        "id",
        "chain",
        "seq",
        "occurred_at_ist",
        "action_shown",
        "object_type",
        "object_id",
        "actor_username",
    ]
    list_display_links = ["id"]
    list_filter = [ActionFilter, "object_type", "actor_username", "occurred_at"]
    fieldsets = [
        (None, {"fields": ["id", "chain", "seq", "action_shown", "occurred_at_ist"]}),
        ("Object", {"fields": ["object_type", "object_id"]}),
        ("Who and from where", {"fields": ["actor", "source_ip_shown", "request_id"]}),
        ("Change", {"fields": ["before_json", "after_json"]}),
        ("Hash chain", {"fields": ["prev_hash", "hash"]}),
    ]
    readonly_fields = [field for _, options in fieldsets for field in options["fields"]]
    search_fields = ["=object_id", "=request_id", "=actor_username"]
    ordering = ["-id"]
    show_full_result_count = False  # the trail is large; one COUNT per page is enough
    actions = None

    @admin.display(description="action", ordering="action")
    def action_shown(self, event: AuditEvent) -> str:
        return action_display(event.action)

    @admin.display(description="occurred at (IST)", ordering="id")
    def occurred_at_ist(self, event: AuditEvent) -> str:
        return in_ist(event.occurred_at)

    @admin.display(description="actor")
    def actor(self, event: AuditEvent) -> str:
        if event.actor_id is None:
            return event.actor_username
        return f"{event.actor_username} (user id {event.actor_id})"

    @admin.display(description="source IP")
    def source_ip_shown(self, event: AuditEvent) -> str:
        return event.source_ip or "-"

    @admin.display(description="before")
    def before_json(self, event: AuditEvent) -> str:
        return json_block(event.before)

    @admin.display(description="after")
    def after_json(self, event: AuditEvent) -> str:
        return json_block(event.after)

    def get_urls(self):
        verify = path(
            "verify/",
            self.admin_site.admin_view(self.verify_view),
            name="compliance_auditevent_verify",
        )
        return [verify, *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_verify_audit_trail": request.user.has_perm(VERIFY_AUDIT_TRAIL),
            "has_checkpoint": AuditCheckpoint.objects.exists(),
            "checkpoints": audit_checkpoint_schedule(),
        }
        return super().changelist_view(request, extra_context)

    def verify_view(self, request: HttpRequest) -> HttpResponse:
        """Run the verifier and show its result as a message on the changelist."""
        if not request.user.has_perm(VERIFY_AUDIT_TRAIL):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        since = audit_checkpoint_latest() if request.POST.get("since") == "checkpoint" else None
        result = audit_verify(since_checkpoint=since)
        self.message_user(request, str(result), messages.SUCCESS if result.ok else messages.ERROR)
        return redirect("admin:compliance_auditevent_changelist")


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(AuditTrailAdmin):
    list_display = ["id", "created_at_ist", "chain_count", "events"]
    ordering = ["-id"]
    fields = ["id", "created_at_ist", "chain_count", "events", "heads_table"]
    readonly_fields = list(fields)

    @admin.display(description="created at (IST)")
    def created_at_ist(self, checkpoint: AuditCheckpoint) -> str:
        return in_ist(checkpoint.created_at)

    @admin.display(description="chains")
    def chain_count(self, checkpoint: AuditCheckpoint) -> int:
        return len(checkpoint.heads)

    @admin.display(description="heads checkpointed")
    def heads_table(self, checkpoint: AuditCheckpoint) -> str:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            ((chain, seq, hash_) for chain, (seq, hash_) in sorted(checkpoint.heads.items())),
        )
        return format_html(
            "<table><tr><th>chain</th><th>seq</th><th>hash</th></tr>{}</table>", rows
        )


from compliance.cases.admin import CaseAdmin, StrReportAdmin  # noqa: E402, F401
from compliance.kyc import admin as kyc_admin  # noqa: E402, F401  (registers KYC)
from compliance.reports import admin as reports_admin  # noqa: E402, F401  (contract notes)
from compliance.reports import exports_admin  # noqa: E402, F401  (report exports)
from compliance.retention import admin as retention_admin  # noqa: E402, F401  (registers retention)

# AML screening's admin lives with its domain.
from compliance.screening import admin as screening_admin  # noqa: E402, F401
from compliance.surveillance.admin import AlertAdmin, AlertRuleAdmin, ClientGroupAdmin  # noqa: E402, F401
