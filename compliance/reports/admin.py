"""Admin of contract notes: kept records, read-only, with their three files (each checked
against its sha256 and audited when downloaded) and their e-mail dispatches. "Send again"
goes through the dispatch service; nobody adds, edits or deletes a note here."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html_join

from compliance.reports.dispatch import ContractNoteDispatchBusy, contract_note_send_again
from compliance.reports.models import ContractNoteDispatch, ContractNoteRecord
from compliance.reports.selectors import (
    FILE_KINDS,
    ContractNoteFileCorrupt,
    contract_note_file_open,
)
from compliance.reports.services import contract_note_downloaded
from tradingsite.admin import ReadOnlyAdmin

SEND_AGAIN = "compliance.send_contract_notes"


class DispatchInline(admin.TabularInline):
    model = ContractNoteDispatch
    extra = 0
    fields = [
        "attempt", "status", "recipient", "resend", "attempted_at", "sent_at", "message_id",
        "error",
    ]  # fmt: skip
    readonly_fields = fields
    can_delete = False
    ordering = ["attempt"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ContractNoteRecord)
class ContractNoteRecordAdmin(ReadOnlyAdmin):
    list_display = [
        "number", "trade_date", "client", "part", "supplements", "settlement_number",
        "dispatch_status", "generated_at",
    ]  # fmt: skip
    list_filter = ["trade_date"]
    search_fields = ["=number", "client__name"]
    list_select_related = ["client"]
    fields = ["number", "client", "trade_date", "part", "supplements", "fill_ids",
              "settlement_number", "generated_at", "files"]  # fmt: skip
    readonly_fields = fields
    inlines = [DispatchInline]
    actions = ["send_again"]

    def get_queryset(self, request):
        latest = ContractNoteDispatch.objects.filter(note=OuterRef("pk")).order_by("-attempt")
        return (
            super()
            .get_queryset(request)
            .annotate(last_dispatch=Subquery(latest.values("status")[:1]))
        )

    @admin.display(description="e-mail")
    def dispatch_status(self, note: ContractNoteRecord) -> str:
        status = getattr(note, "last_dispatch", None)
        return ContractNoteDispatch.Status(status).label if status else "not sent yet"

    @admin.display(description="files")
    def files(self, note: ContractNoteRecord) -> str:
        return format_html_join(
            "",
            '<p><a href="{}">{}.{}</a> <code>sha256 {}</code></p>',
            (
                (
                    reverse("admin:compliance_contractnoterecord_file", args=[note.pk, kind]),
                    note.number,
                    kind,
                    getattr(note, f"{kind}_sha256"),
                )
                for kind in FILE_KINDS
            ),
        )

    def has_send_again_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(SEND_AGAIN)

    @admin.action(description="Send again (e-mail the selected notes to their clients)",
                  permissions=["send_again"])  # fmt: skip
    def send_again(self, request: HttpRequest, queryset) -> None:
        sent, failed, busy = [], [], []
        for note in queryset.order_by("trade_date", "number"):
            try:
                dispatch = contract_note_send_again(note=note, actor=request.user)
            except ContractNoteDispatchBusy:
                busy.append(note.number)
                continue
            if dispatch.status == ContractNoteDispatch.Status.SENT:
                sent.append(note.number)
            else:
                failed.append(f"{note.number}: {dispatch.error}")
        if sent:
            self.message_user(request, f"Sent again: {', '.join(sent)}.", messages.SUCCESS)
        for line in failed:
            self.message_user(request, f"Not sent: {line}", messages.ERROR)
        if busy:
            self.message_user(
                request, f"Being sent right now, left alone: {', '.join(busy)}.", messages.WARNING
            )

    def get_urls(self):
        download = path(
            "<int:pk>/file/<str:kind>/",
            self.admin_site.admin_view(self.file_view),
            name="compliance_contractnoterecord_file",
        )
        return [download, *super().get_urls()]

    def file_view(self, request: HttpRequest, pk: int, kind: str) -> HttpResponse:
        """The note's file as stored, once its sha256 is checked; the download is audited."""
        note = ContractNoteRecord.objects.filter(pk=pk).first()
        if note is None or not self.has_view_permission(request, note):
            raise PermissionDenied
        if kind not in FILE_KINDS:
            raise Http404(f"No file .{kind} of a contract note: pdf, csv or json.")
        try:
            handle = contract_note_file_open(note=note, kind=kind)
        except ContractNoteFileCorrupt as corrupt:
            self.message_user(request, corrupt.detail, messages.ERROR)
            return redirect("admin:compliance_contractnoterecord_change", note.pk)
        contract_note_downloaded(note=note, kind=kind, actor=request.user)
        return FileResponse(
            handle, as_attachment=True, filename=f"{note.number}.{kind}",
            content_type=FILE_KINDS[kind],
        )  # fmt: skip
