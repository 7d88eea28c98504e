"""Admin of the compliance app: clients, and the audit trail (read-only, with a verifier)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path
from stdnum.in_ import pan as pan_number

from compliance.models import AuditCheckpoint, AuditEvent, Client
from compliance.selectors import audit_checkpoint_latest
from compliance.verify import audit_verify
from tradingsite.admin import ReadOnlyAdmin

VIEW_AUDIT_TRAIL = "compliance.view_audit_trail"
VERIFY_AUDIT_TRAIL = "compliance.verify_audit_trail"


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ["name", "pan", "kyc_status", "kyc_verified_at", "created_at"]
    list_filter = ["kyc_status"]
    search_fields = ["name"]  # and the exact PAN, through its blind index (below)
    readonly_fields = ["kyc_verified_at", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        # A client's PAN is their identity: it is fixed once the client exists.
        return ["pan", *self.readonly_fields] if obj is not None else self.readonly_fields

    def get_search_results(self, request, queryset, search_term):
        found, duplicates = super().get_search_results(request, queryset, search_term)
        if pan_number.is_valid(search_term.strip().upper()):
            found |= queryset.filter(pan_digest=Client.pan_index(search_term))
        return found, duplicates


class AuditTrailAdmin(ReadOnlyAdmin):
    """Read-only, and only for those who may read the audit trail."""

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm(VIEW_AUDIT_TRAIL)


@admin.register(AuditEvent)
class AuditEventAdmin(AuditTrailAdmin):
    list_display = ["seq", "occurred_at", "action", "object_type", "object_id", "actor_username"]
    list_display_links = ["seq"]
    list_filter = ["action", "object_type", "actor_username", "occurred_at"]
    search_fields = ["=object_id", "=request_id", "=actor_username"]
    ordering = ["-seq"]
    show_full_result_count = False  # the trail is large; one COUNT per page is enough
    actions = None

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
    list_display = ["seq", "hash", "created_at"]
    ordering = ["-seq", "-id"]
