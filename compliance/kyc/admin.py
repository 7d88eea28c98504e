"""Admin of KYC: the queue (filters with counts, ageing), the application's decision
buttons and bulk actions, all through ``compliance.kyc.services`` (maker-checker per item);
uploads checked by content; the rules as data. Applications and documents are kept records,
never deleted; auditors (view permissions only) see everything and change nothing."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.http import FileResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from compliance.kyc.choices import TRANSITIONS, ApplicationStatus
from compliance.kyc.models import (
    KycApplication,
    KycDocument,
    KycRiskRule,
    ReKycDue,
    ReKycInterval,
)
from compliance.kyc.services import (
    EDITABLE_FIELDS,
    KycDocumentRefused,
    KycRefused,
    kyc_application_create,
    kyc_application_update,
    kyc_assign,
    kyc_document_check,
    kyc_document_upload,
    kyc_document_viewed,
    kyc_ipv_record,
    kyc_kra_sync,
    kyc_transition,
    rekyc_assign,
)
from compliance.models import Client
from compliance.queues import ASSIGNEE_FILTER, age_filter, officers
from tradingsite.errors import DomainError

S = ApplicationStatus
#: The decision buttons: target state -> label.
MOVES = {
    S.SUBMITTED: "Submit",
    S.UNDER_REVIEW: "Take for review",
    S.VERIFIED: "Verify (maker)",
    S.APPROVED: "Approve (checker)",
    S.REJECTED: "Reject",
    S.ON_HOLD: "Put on hold",
}


class ReasonActionForm(ActionForm):
    assignee = forms.ModelChoiceField(
        queryset=officers("review_kyc").none(), required=False, label="Officer"
    )
    reason = forms.CharField(required=False, label="Reason (hold, reject)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = officers("review_kyc")


def assign_selected(model_admin, request, queryset, assign) -> None:
    """The queues' bulk assignment: the officer chosen in the action bar, through the
    queue's service (``assign(items, assignee, actor)``)."""
    officer = (
        ReasonActionForm(request.POST)
        .fields["assignee"]
        .clean(request.POST.get("assignee") or None)
    )
    if officer is None:
        model_admin.message_user(request, "Choose the officer to assign to.", messages.ERROR)
        return
    try:
        n = assign(list(queryset), officer, request.user)
    except DomainError as no:
        model_admin.message_user(request, no.detail, messages.ERROR)
        return
    model_admin.message_user(request, f"{n} assigned to {officer.get_username()}.")


class ApplicationForm(forms.ModelForm):
    """The declared data; the PAN must be the client's (their identity)."""

    class Meta:
        model = KycApplication
        fields = ["client", *EDITABLE_FIELDS]

    def clean(self):
        data = super().clean()
        client = data.get("client") or getattr(self.instance, "client", None)
        pan = data.get("pan")
        if client is not None and pan and Client.pan_index(pan) != client.pan_digest:
            self.add_error("pan", f"This is not {client.name}'s PAN.")
        return data


class DocumentInline(admin.TabularInline):
    model = KycDocument
    extra = 0
    fields = ["kind", "link", "content_type", "size", "sha256", "uploaded_by", "uploaded_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="file")
    def link(self, document: KycDocument) -> str:
        url = reverse("admin:compliance_kycdocument_download", args=[document.pk])
        return format_html('<a href="{}">{}</a>', url, document.original_name)


class KycApplicationAdmin(admin.ModelAdmin):
    form = ApplicationForm
    list_display = [
        "id", "name", "client", "status", "age_days", "assignee", "risk_category",
        "kra_status", "verified_by", "decided_by", "submitted_at",
    ]  # fmt: skip
    list_filter = [
        "status", age_filter("submitted_at"), ASSIGNEE_FILTER, "risk_category", "kra_status", "pep"
    ]  # fmt: skip
    show_facets = admin.ShowFacets.ALWAYS  # the counts beside each filter
    search_fields = ["name", "client__name"]
    list_select_related = ["client", "verified_by", "decided_by"]
    ordering = ["submitted_at", "id"]
    inlines = [DocumentInline]
    action_form = ReasonActionForm
    actions = [
        "assign_to_officer", "take_for_review", "verify", "approve", "reject", "hold", "check_kra"
    ]  # fmt: skip
    change_form_template = "admin/compliance/kycapplication/change_form.html"
    fieldsets = [
        ("Client", {"fields": ["client", "status"]}),
        ("Identity", {"fields": ["name", "pan", "date_of_birth", "aadhaar_last4"]}),
        ("Contact", {"fields": ["address", "state", "country", "mobile", "email"]}),
        (
            "Finances",
            {
                "fields": [
                    "bank_account_number",
                    "bank_ifsc",
                    "income_range",
                    "occupation",
                    "net_worth",
                    "expected_annual_turnover",
                ]
            },
        ),
        ("Declarations", {"fields": ["fatca_us_person", "tax_residency_country", "pep"]}),
        ("Nominee", {"fields": ["nominee_name", "nominee_relation"]}),
        ("In-person verification", {"fields": ["ipv_done", "ipv_on", "ipv_by"]}),
        (
            "Review",
            {
                "fields": [
                    "assignee",
                    "submitted_at",
                    "verified_by",
                    "verified_at",
                    "decided_by",
                    "decided_at",
                    "hold_reason",
                    "rejection_reason",
                    "risk_category",
                    "risk_reasons",
                    "kra_status",
                    "kra_reference",
                    "kra_checked_at",
                ]
            },
        ),
    ]
    REVIEW_FIELDS = [
        "status", "assignee", "ipv_done", "ipv_on", "ipv_by", "submitted_at", "verified_by",
        "verified_at", "decided_by", "decided_at", "hold_reason", "rejection_reason",
        "risk_category", "risk_reasons", "kra_status", "kra_reference", "kra_checked_at",
    ]  # fmt: skip

    def has_review_kyc_permission(self, request) -> bool:
        return request.user.has_perm("compliance.review_kyc")

    @admin.action(description="Assign the selected open applications to the officer",
                  permissions=["review_kyc"])  # fmt: skip
    def assign_to_officer(self, request, queryset) -> None:
        assign_selected(self, request, queryset, lambda items, officer, actor: kyc_assign(
            applications=items, assignee=officer, actor=actor))  # fmt: skip

    def has_approve_kyc_permission(self, request) -> bool:
        return request.user.has_perm("compliance.approve_kyc")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.REVIEW_FIELDS
        # Once submitted, the application is what the officers check: nobody edits it.
        if obj.status != S.DRAFT:
            return ["client", *self.REVIEW_FIELDS, *EDITABLE_FIELDS]
        return ["client", *self.REVIEW_FIELDS]

    @admin.display(description="age (days)")
    def age_days(self, application: KycApplication) -> int | str:
        if application.submitted_at is None:
            return "-"
        return (timezone.now() - application.submitted_at).days

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            fields = {f: form.cleaned_data[f] for f in EDITABLE_FIELDS if f in form.cleaned_data}
            made = kyc_application_create(client=obj.client, actor=request.user, **fields)
        else:
            changes = {f: form.cleaned_data[f] for f in form.changed_data if f in EDITABLE_FIELDS}
            if not changes:
                return  # nothing edited (a decided application has no editable field)
            made = kyc_application_update(application=obj, actor=request.user, changes=changes)
        obj.__dict__.update(made.__dict__)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and self.has_view_permission(request, obj):
            context["kyc_moves"] = [
                (str(to), MOVES[to])
                for (frm, to), perm in TRANSITIONS.items()
                if frm == obj.status and request.user.has_perm(perm)
            ]
            if obj.status in (S.DRAFT, S.SUBMITTED, S.UNDER_REVIEW, S.ON_HOLD) and (
                request.user.has_perm("compliance.review_kyc") and not obj.ipv_done
            ):
                context["kyc_moves"].append(("ipv", "Record IPV (today)"))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        move = next((k[5:] for k in request.POST if k.startswith("_kyc_")), None)
        if request.method == "POST" and object_id and move:
            return self._decide(request, object_id, move)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _decide(self, request, object_id, move: str):
        application = self.get_object(request, object_id)
        if application is None or not self.has_view_permission(request, application):
            raise PermissionDenied
        if not (
            self.has_review_kyc_permission(request) or self.has_approve_kyc_permission(request)
        ):
            raise PermissionDenied
        try:
            if move == "ipv":
                kyc_ipv_record(application=application, actor=request.user)
            else:
                kyc_transition(
                    application=application, to=move, actor=request.user,
                    reason=request.POST.get("kyc_reason", ""),
                )  # fmt: skip
        except (DomainError, ValueError) as refused:
            self.message_user(request, str(refused), messages.ERROR)
        else:
            application.refresh_from_db()
            self.message_user(request, f"{application}.", messages.SUCCESS)
        return redirect("admin:compliance_kycapplication_change", application.pk)

    def _bulk(self, request, queryset, to: str) -> None:
        reason = request.POST.get("reason", "")
        done, refused = 0, []
        for application in queryset.order_by("id"):
            try:
                kyc_transition(application=application, to=to, actor=request.user, reason=reason)
            except KycRefused as why:
                refused.append(str(why))
            else:
                done += 1
        if done:
            self.message_user(request, f"{done} application(s) moved to {S(to).label}.")
        for why in refused:
            self.message_user(request, why, messages.ERROR)

    @admin.action(description="Take for review", permissions=["review_kyc"])
    def take_for_review(self, request, queryset):
        self._bulk(request, queryset, S.UNDER_REVIEW)

    @admin.action(description="Verify (maker)", permissions=["review_kyc"])
    def verify(self, request, queryset):
        self._bulk(request, queryset, S.VERIFIED)

    @admin.action(description="Approve (checker)", permissions=["approve_kyc"])
    def approve(self, request, queryset):
        self._bulk(request, queryset, S.APPROVED)

    @admin.action(description="Reject (give a reason)", permissions=["approve_kyc"])
    def reject(self, request, queryset):
        self._bulk(request, queryset, S.REJECTED)

    @admin.action(description="Put on hold (give a reason)", permissions=["review_kyc"])
    def hold(self, request, queryset):
        self._bulk(request, queryset, S.ON_HOLD)

    @admin.action(description="Ask the KRA now (approved applications)", permissions=["review_kyc"])
    def check_kra(self, request, queryset):
        # The KRA is called outside any transaction: the admin runs none around an action.
        for application in queryset.filter(status=S.APPROVED).order_by("id"):
            application = kyc_kra_sync(application=application, actor=request.user)
            self.message_user(request, f"{application}: KRA {application.kra_status or '-'}.")


class DocumentForm(forms.ModelForm):
    upload = forms.FileField(help_text="PDF, JPEG or PNG, checked by its content")

    class Meta:
        model = KycDocument
        fields = ["application", "kind"]

    def clean_upload(self):
        upload = self.cleaned_data["upload"]
        try:
            kyc_document_check(upload=upload)
        except KycDocumentRefused as refused:
            raise forms.ValidationError(refused.detail) from None
        return upload


class KycDocumentAdmin(admin.ModelAdmin):
    list_display = ["id", "application", "kind", "content_type", "size", "uploaded_at"]
    list_filter = ["kind", "content_type"]
    readonly_fields = [
        "application", "kind", "original_name", "content_type", "size", "sha256",
        "uploaded_by", "uploaded_at",
    ]  # fmt: skip

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = DocumentForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        return ["application", "kind", "upload"] if obj is None else self.readonly_fields

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a document is replaced by uploading another, never edited

    def get_urls(self):
        download = path(
            "<int:pk>/download/",
            self.admin_site.admin_view(self.download_view),
            name="compliance_kycdocument_download",
        )
        return [download, *super().get_urls()]

    def download_view(self, request, pk: int) -> FileResponse:
        """The stored file, to those who may see KYC documents (its reading is audited)."""
        document = KycDocument.objects.filter(pk=pk).first()
        if document is None or not self.has_view_permission(request, document):
            raise PermissionDenied
        kyc_document_viewed(document=document, actor=request.user)
        return FileResponse(
            document.file.open("rb"), as_attachment=True, content_type=document.content_type,
            filename=document.file.name.rsplit("/", 1)[-1],
        )  # fmt: skip

    def save_model(self, request, obj, form, change) -> None:
        made = kyc_document_upload(
            application=form.cleaned_data["application"], kind=form.cleaned_data["kind"],
            upload=form.cleaned_data["upload"], actor=request.user,
        )  # fmt: skip
        obj.__dict__.update(made.__dict__)


class KycRiskRuleAdmin(admin.ModelAdmin):
    list_display = ["factor", "value", "category", "note"]
    list_filter = ["factor", "category"]


class ReKycIntervalAdmin(admin.ModelAdmin):
    list_display = ["category", "months"]


class ReKycDueAdmin(admin.ModelAdmin):
    list_display = ["client", "due_on", "overdue", "status", "assignee", "raised_at"]
    list_filter = ["status", "due_on", ASSIGNEE_FILTER]
    show_facets = admin.ShowFacets.ALWAYS
    readonly_fields = ["client", "due_on", "status", "assignee", "raised_at", "closed_at"]
    action_form = ReasonActionForm
    actions = ["assign_to_officer"]

    def has_review_kyc_permission(self, request) -> bool:
        return request.user.has_perm("compliance.review_kyc")

    @admin.action(description="Assign the selected re-KYC items to the officer",
                  permissions=["review_kyc"])  # fmt: skip
    def assign_to_officer(self, request, queryset) -> None:
        assign_selected(self, request, queryset, lambda items, officer, actor: rekyc_assign(
            items=items, assignee=officer, actor=actor))  # fmt: skip

    def has_add_permission(self, request) -> bool:
        return False  # beat raises them (compliance.tasks.kyc_daily)

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # closed by approving the client's new application

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="overdue", boolean=True)
    def overdue(self, item: ReKycDue) -> bool:
        return item.status == "due" and item.due_on < timezone.localdate()


def register(site) -> None:
    site.register(KycApplication, KycApplicationAdmin)
    site.register(KycDocument, KycDocumentAdmin)
    site.register(KycRiskRule, KycRiskRuleAdmin)
    site.register(ReKycInterval, ReKycIntervalAdmin)
    site.register(ReKycDue, ReKycDueAdmin)


register(admin.site)
