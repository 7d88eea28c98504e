"""Retention in the admin: the policies (edited through their service, floor enforced), the
legal holds (placed and released through services, never deleted) and the archive runs
(read-only; archive a month, verify, release, restore, request and approve a purge, each
through a service, refusals reported)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect

from compliance.retention.archive import ARCHIVE_PERMISSION, month_start
from compliance.retention.errors import ArchiveRefused, ArchiveTampered
from compliance.retention.models import (
    RETENTION_FLOOR_YEARS,
    ArchiveRun,
    LegalHold,
    RecordKind,
    RetentionPolicy,
)
from compliance.retention.release import archive_release
from compliance.retention.restore import archive_restore
from compliance.retention.services import (
    PURGE_PERMISSION,
    archive_purge_approve,
    archive_purge_request,
    legal_hold_place,
    legal_hold_release,
    retention_policy_change,
)
from compliance.retention.tasks import archive_month_task
from compliance.retention.verify import archive_verify
from tradingsite.admin import ReadOnlyAdmin

REFUSED = (ArchiveRefused, ArchiveTampered)


class RetentionPolicyForm(forms.ModelForm):
    class Meta:
        model = RetentionPolicy
        fields = ["retention_years", "online_months"]

    def clean_retention_years(self) -> int:
        years = self.cleaned_data["retention_years"]
        if years < RETENTION_FLOOR_YEARS:
            raise forms.ValidationError(f"Records are kept {RETENTION_FLOOR_YEARS} years at least.")
        return years


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin):
    form = RetentionPolicyForm
    list_display = ["kind", "retention_years", "online_months", "description", "updated_at"]
    readonly_fields = ["kind", "description", "updated_at"]
    fields = ["kind", "description", "retention_years", "online_months", "updated_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        # The form checked the floor; the service re-checks it, saves and audits the change.
        retention_policy_change(
            policy=RetentionPolicy.objects.get(pk=obj.pk),
            retention_years=obj.retention_years,
            online_months=obj.online_months,
            actor=request.user,
        )


class LegalHoldForm(forms.ModelForm):
    class Meta:
        model = LegalHold
        fields = ["client", "case", "reason"]

    def clean(self):
        data = super().clean()
        if bool(data.get("client")) == bool(data.get("case")):
            raise forms.ValidationError("Place the hold on a client or on a case, one of them.")
        return data


class ReasonActionForm(ActionForm):
    reason = forms.CharField(required=False, label="Reason")


@admin.register(LegalHold)
class LegalHoldAdmin(admin.ModelAdmin):
    form = LegalHoldForm
    action_form = ReasonActionForm
    actions = ["release_holds"]
    list_display = ["pk", "client", "case", "reason", "placed_by", "placed_at", "released_at"]
    list_filter = [("released_at", admin.EmptyFieldListFilter)]
    autocomplete_fields: list[str] = []
    raw_id_fields = ["client", "case"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a hold changes only by its release (the action)

    def has_release_permission(self, request) -> bool:
        return request.user.has_perm("compliance.change_legalhold")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [f.name for f in LegalHold._meta.fields]

    def save_model(self, request, obj, form, change) -> None:
        placed = legal_hold_place(
            client=obj.client, case=obj.case, reason=obj.reason, actor=request.user
        )
        obj.pk, obj.placed_by, obj.placed_at = placed.pk, placed.placed_by, placed.placed_at

    @admin.action(description="Release the selected holds (give a reason)", permissions=["release"])
    def release_holds(self, request, queryset):
        reason = (request.POST.get("reason") or "").strip()
        for hold in queryset.order_by("pk"):
            try:
                legal_hold_release(hold=hold, reason=reason, actor=request.user)
                self.message_user(request, f"Legal hold {hold.pk} released.", messages.SUCCESS)
            except ArchiveRefused as no:
                self.message_user(request, f"Hold {hold.pk}: {no.detail}", messages.WARNING)


class ArchiveMonthForm(forms.Form):
    kind = forms.ChoiceField(choices=RecordKind.choices)
    month = forms.CharField(max_length=7, widget=forms.TextInput(attrs={"placeholder": "YYYY-MM"}))
    release = forms.BooleanField(required=False)


@admin.register(ArchiveRun)
class ArchiveRunAdmin(ReadOnlyAdmin):
    list_display = ["pk", "kind", "month", "status", "rows", "created_at", "requested_by",
                    "online_released_at", "restored_at", "purge_requested_by",
                    "purge_approved_by"]  # fmt: skip
    list_filter = ["kind", "status"]
    actions = ["verify", "release", "restore", "request_purge", "approve_purge"]

    def has_archive_permission(self, request) -> bool:
        return request.user.has_perm(ARCHIVE_PERMISSION)

    def has_purge_permission(self, request) -> bool:
        return request.user.has_perm(PURGE_PERMISSION)

    def get_urls(self):
        from django.urls import path

        archive = path(
            "archive/",
            self.admin_site.admin_view(self.archive_view),
            name="compliance_archiverun_archive",
        )
        return [archive, *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_archive": self.has_archive_permission(request),
            "archive_form": ArchiveMonthForm(),
        }
        return super().changelist_view(request, extra_context)

    def archive_view(self, request: HttpRequest) -> HttpResponse:
        """Queue the archive of a month (the maintenance worker runs it)."""
        if not self.has_archive_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        form = ArchiveMonthForm(request.POST)
        if not form.is_valid():
            self.message_user(request, f"Not archived: {form.errors.as_text()}", messages.ERROR)
            return redirect("admin:compliance_archiverun_changelist")
        try:
            month = month_start(form.cleaned_data["month"])
        except ArchiveRefused as no:
            self.message_user(request, no.detail, messages.ERROR)
            return redirect("admin:compliance_archiverun_changelist")
        args = (form.cleaned_data["kind"], f"{month:%Y-%m}", request.user.pk)
        release = form.cleaned_data["release"]

        def enqueue() -> None:
            try:
                archive_month_task.delay(*args, release=release)
            except REFUSED as no:  # run inline (tests, the embedded profile's eager mode)
                self.message_user(request, no.detail, messages.ERROR)

        transaction.on_commit(enqueue, robust=False)
        self.message_user(request, f"Archive of {args[0]} {args[1]} queued.", messages.INFO)
        return redirect("admin:compliance_archiverun_changelist")

    def _each(self, request, queryset, work, done: str) -> None:
        for run in queryset.order_by("month"):
            try:
                said = work(run)  # a sentence, or the run (then ``done`` says what happened)
                if not isinstance(said, str):
                    said = f"Archive run {run.pk}: {done}."
                self.message_user(request, said, messages.SUCCESS)
            except REFUSED as no:
                self.message_user(request, no.detail, messages.ERROR)

    @admin.action(description="Verify the selected archives", permissions=["archive"])
    def verify(self, request, queryset):
        self._each(request, queryset, lambda run: str(archive_verify(run=run)), "verified")

    @admin.action(description="Release their online rows (verified first)", permissions=["archive"])
    def release(self, request, queryset):
        self._each(
            request, queryset, lambda run: archive_release(run=run, actor=request.user),
            "online rows released",
        )  # fmt: skip

    @admin.action(description="Restore read-only (verified first)", permissions=["archive"])
    def restore(self, request, queryset):
        self._each(
            request, queryset,
            lambda run: f"Archive run {run.pk} verified and restored read-only to "
            f"{archive_restore(run=run, actor=request.user)}.",
            "restored",
        )  # fmt: skip

    @admin.action(description="Request the purge (first officer)", permissions=["purge"])
    def request_purge(self, request, queryset):
        self._each(
            request, queryset, lambda run: archive_purge_request(run=run, actor=request.user),
            "purge requested; a second officer approves it",
        )  # fmt: skip

    @admin.action(description="Approve the purge (second officer)", permissions=["purge"])
    def approve_purge(self, request, queryset):
        self._each(
            request, queryset, lambda run: archive_purge_approve(run=run, actor=request.user),
            "purged; the run stays on record",
        )  # fmt: skip
