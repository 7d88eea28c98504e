"""The case queue and the STRs in the admin.

Officers (``compliance.manage_surveillance_case``) filter cases by status, priority, age,
SLA and assignee, see the queue's counts, and work them with actions that go through
``compliance.cases.services``: assign, take for review, note, escalate, draft the STR
(``compliance.file_str``), propose a closure, and approve it or send it back (a second
officer). Nothing is added, edited or deleted here directly: cases, notes and STRs are kept
records. Auditors see every page and change nothing. Traders and clients are not staff: no
page here is theirs (tipping-off).
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME, ActionForm
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from compliance.cases.models import Case, CaseNote, CaseStatus, StrReport, StrStatus
from compliance.cases.report import SUSPICION_CATEGORIES
from compliance.cases.selectors import case_counts, case_evidence
from compliance.cases.services import (
    FILE_STR,
    WORK_CASES,
    CaseRefused,
    case_assign,
    case_close_approve,
    case_close_reject,
    case_close_request,
    case_move,
    case_note_add,
    str_draft,
    str_file_read,
)
from compliance.dashboard import desk_numbers
from compliance.queues import ASSIGNEE_FILTER, age_filter, age_text, officers
from marketdata.calendar import IST
from tradingsite.admin import ReadOnlyAdmin

EVIDENCE_ADMIN = {
    "order": "orders_order",
    "fill": "orders_fill",
    "ledger": "orders_ledgerentry",
    "audit": "compliance_auditevent",
}


def evidence_links(refs: list[dict]) -> str:
    """Links to the admin page of each referenced record (shown unlinked if it has none)."""
    links = []
    for ref in refs:
        try:
            url = reverse(f"admin:{EVIDENCE_ADMIN[ref['kind']]}_change", args=[ref["id"]])
        except (KeyError, NoReverseMatch):
            url = "#"
        links.append((url, f"{ref['kind']} {ref['id']}"))
    return format_html_join(", ", '<a href="{}">{}</a>', links) or "-"


def _ist(moment) -> str:
    return f"{timezone.localtime(moment, IST):%d %b %Y, %H:%M} IST" if moment else "-"


class CaseActionForm(ActionForm):
    assignee = forms.ModelChoiceField(
        queryset=officers("manage_surveillance_case").none(), required=False, label="Officer"
    )
    text = forms.CharField(
        required=False,
        max_length=2000,
        label="Reason / note",
        widget=forms.TextInput(attrs={"size": 60}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = officers("manage_surveillance_case")


class SlaFilter(admin.SimpleListFilter):
    title = "SLA"
    parameter_name = "sla"

    def lookups(self, request, model_admin):
        return [("past", "Past its SLA"), ("awaiting", "Closure awaiting a second officer")]

    def queryset(self, request, queryset):
        if self.value() == "past":
            return queryset.filter(sla_due_at__lt=timezone.now()).exclude(
                status__in=[CaseStatus.CLOSED_NO_ACTION, CaseStatus.STR_FILED]
            )
        if self.value() == "awaiting":
            return queryset.exclude(closure_outcome="").filter(closed_at__isnull=True)
        return queryset


class StrDraftForm(forms.Form):
    grounds = forms.CharField(
        label="Grounds of suspicion",
        widget=forms.Textarea(attrs={"rows": 8, "cols": 90}),
        help_text="What was found and why it is suspicious: the STR's narrative.",
    )
    categories = forms.MultipleChoiceField(
        choices=list(SUSPICION_CATEGORIES.items()), widget=forms.CheckboxSelectMultiple
    )
    action_taken = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 90}),
        help_text="e.g. accounts suspended, relationship under review",
    )


class CaseNoteInline(admin.TabularInline):
    model = CaseNote
    fields = ["created_at", "author", "body"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = ["ref", "title", "status", "priority", "subject", "assignee", "age", "sla",
                    "next_step"]  # fmt: skip
    list_display_links = ["ref", "title"]
    list_filter = ["status", "priority", SlaFilter, age_filter("opened_at"), ASSIGNEE_FILTER]
    search_fields = ["title", "client__name"]
    ordering = ["status", "-priority", "opened_at"]
    list_select_related = ["client", "assignee", "str_report", "closure_requested_by"]
    action_form = CaseActionForm
    actions = [
        "assign_to_officer",
        "take_for_review",
        "add_note",
        "escalate",
        "draft_str",
        "propose_no_action",
        "propose_str_filing",
        "approve_closure",
        "send_closure_back",
    ]
    inlines = [CaseNoteInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "ref",
                    "title",
                    "status",
                    "priority",
                    "client",
                    "assignee",
                    "opened",
                    "sla",
                ]
            },
        ),
        ("Alerts and evidence", {"fields": ["alerts_table", "evidence_shown", "screening_hit"]}),
        ("Suspicion and STR", {"fields": ["suspicion_determined_on", "str_link"]}),
        (
            "Closure (four-eyes)",
            {
                "fields": [
                    "closure_outcome",
                    "closure_reason",
                    "closure_requested_by",
                    "closure_requested_at",
                    "closed_by",
                    "closed_at",
                ]
            },
        ),
    ]
    readonly_fields = [f for _, options in fieldsets for f in options["fields"]]

    def has_work_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(WORK_CASES)

    def has_file_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(FILE_STR)

    @admin.display(description="case", ordering="id")
    def ref(self, case: Case) -> str:
        return case.ref

    @admin.display(description="age")
    def age(self, case: Case) -> str:
        return age_text(case.opened_at, case.closed_at)

    @admin.display(description="opened")
    def opened(self, case: Case) -> str:
        by = case.opened_by.get_username() if case.opened_by_id else "system"
        return f"{_ist(case.opened_at)} by {by}"

    @admin.display(description="SLA", ordering="sla_due_at")
    def sla(self, case: Case) -> str:
        if case.is_closed:
            return "met" if case.closed_at <= case.sla_due_at else "missed"
        left = case.sla_due_at - timezone.now()
        if left.total_seconds() < 0:
            return format_html(
                '<strong style="color:#ba2121">{} over</strong>', age_text(case.sla_due_at)
            )
        return f"{left.days}d {left.seconds // 3600}h left"

    @admin.display(description="client", ordering="client__name")
    def subject(self, case: Case) -> str:
        return case.client.name if case.client_id else "-"

    @admin.display(description="next step")
    def next_step(self, case: Case) -> str:
        """What the case waits for: a second officer's approval, or its STR's due date."""
        report = getattr(case, "str_report", None)
        if report is not None and report.status == StrStatus.FILED:
            return f"STR filed {timezone.localtime(report.filed_at, IST):%d %b}"
        if case.closure_outcome and not case.is_closed:
            who = case.closure_requested_by.get_username()
            outcome = case.get_closure_outcome_display()
            return f"{outcome}: proposed by {who}, awaiting a second officer"
        if report is not None:
            days = (report.due_on - timezone.localdate(timezone.now(), IST)).days
            if days < 0:
                return format_html('<strong style="color:#ba2121">STR overdue {}d</strong>', -days)
            return f"STR due {report.due_on:%d %b} ({days}d left)"
        return "-"

    @admin.display(description="alerts")
    def alerts_table(self, case: Case) -> str:
        rows = [
            (reverse("admin:compliance_alert_change", args=[a.pk]), a.pk, a.rule.name, a.summary)
            for a in case.alerts.select_related("rule").order_by("pk")
        ]
        return format_html_join("", '<div><a href="{}">alert {}</a> · {}: {}</div>', rows) or "-"

    @admin.display(description="evidence")
    def evidence_shown(self, case: Case) -> str:
        return evidence_links(case_evidence(case))

    @admin.display(description="STR")
    def str_link(self, case: Case) -> str:
        report = getattr(case, "str_report", None)
        if report is None:
            return "-"
        url = reverse("admin:compliance_strreport_change", args=[report.pk])
        return format_html(
            '<a href="{}">{}</a> ({}, due {})',
            url,
            report.ref,
            report.get_status_display(),
            report.due_on,
        )

    def get_urls(self):
        dashboard = path(
            "dashboard/",
            self.admin_site.admin_view(self.dashboard_view),
            name="compliance_dashboard",
        )
        return [dashboard, *super().get_urls()]

    def dashboard_view(self, request: HttpRequest) -> TemplateResponse:
        """The desk's day in numbers (``compliance.dashboard``), for those who see cases."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = timezone.localdate(timezone.now(), IST)
        return TemplateResponse(
            request,
            "admin/compliance/dashboard.html",
            {
                **self.admin_site.each_context(request),
                "title": "Compliance desk: today",
                "today": today,
                "numbers": desk_numbers(today),
            },
        )

    def changelist_view(self, request: HttpRequest, extra_context=None):
        extra_context = {**(extra_context or {}), "case_counts": case_counts()}
        return super().changelist_view(request, extra_context)

    # --- actions: each one item at a time through the services, refusals reported -------

    def _each(self, request, queryset, done: str, work) -> None:
        ok = 0
        for case in queryset.order_by("pk"):
            try:
                work(case)
                ok += 1
            except CaseRefused as no:
                said = no.detail if case.ref in no.detail else f"{case.ref}: {no.detail}"
                self.message_user(request, said, messages.WARNING)
        if ok:
            self.message_user(request, f"{ok} case(s) {done}.", messages.SUCCESS)

    def _text(self, request) -> str:
        return (request.POST.get("text") or "").strip()

    @admin.action(description="Assign the selected cases to the officer", permissions=["work"])
    def assign_to_officer(self, request, queryset):
        officer = (
            CaseActionForm(request.POST)
            .fields["assignee"]
            .clean(request.POST.get("assignee") or None)
        )
        if officer is None:
            self.message_user(request, "Choose the officer to assign to.", messages.ERROR)
            return
        try:
            n = case_assign(cases=list(queryset), assignee=officer, actor=request.user)
        except CaseRefused as no:
            self.message_user(request, no.detail, messages.ERROR)
            return
        self.message_user(request, f"{n} case(s) assigned to {officer.get_username()}.")

    @admin.action(description="Take for review", permissions=["work"])
    def take_for_review(self, request, queryset):
        self._each(
            request,
            queryset,
            "taken for review",
            lambda c: case_move(case=c, move="review", actor=request.user),
        )

    @admin.action(
        description="Add the note (in the box) to the selected cases", permissions=["work"]
    )
    def add_note(self, request, queryset):
        self._each(
            request,
            queryset,
            "noted",
            lambda c: case_note_add(case=c, actor=request.user, body=self._text(request)),
        )

    @admin.action(
        description="Escalate to the principal officer (reason in the box)", permissions=["work"]
    )
    def escalate(self, request, queryset):
        self._each(
            request,
            queryset,
            "escalated",
            lambda c: case_move(
                case=c, move="escalate", actor=request.user, reason=self._text(request)
            ),
        )

    @admin.action(
        description="Propose closing with no action (reason in the box)", permissions=["work"]
    )
    def propose_no_action(self, request, queryset):
        self._each(
            request,
            queryset,
            "proposed for closure (no action)",
            lambda c: case_close_request(
                case=c, actor=request.user, outcome="no_action", reason=self._text(request)
            ),
        )

    @admin.action(
        description="Propose closing as STR filed (reason in the box)", permissions=["file"]
    )
    def propose_str_filing(self, request, queryset):
        self._each(
            request,
            queryset,
            "proposed for closure (STR filed)",
            lambda c: case_close_request(
                case=c, actor=request.user, outcome="str_filed", reason=self._text(request)
            ),
        )

    @admin.action(description="Approve the proposed closure (second officer)", permissions=["work"])
    def approve_closure(self, request, queryset):
        self._each(
            request, queryset, "closed", lambda c: case_close_approve(case=c, actor=request.user)
        )

    @admin.action(
        description="Send the proposed closure back (reason in the box)", permissions=["work"]
    )
    def send_closure_back(self, request, queryset):
        self._each(
            request,
            queryset,
            "sent back",
            lambda c: case_close_reject(case=c, actor=request.user, reason=self._text(request)),
        )

    @admin.action(description="Draft the STR (one escalated case)", permissions=["file"])
    def draft_str(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Draft an STR for one case at a time.", messages.ERROR)
            return None
        case = queryset.get()
        report = getattr(case, "str_report", None)
        initial = (
            {
                "grounds": report.grounds,
                "categories": report.categories,
                "action_taken": report.action_taken,
            }
            if report
            else None
        )
        form = StrDraftForm(request.POST if "apply" in request.POST else None, initial=initial)
        if "apply" in request.POST and form.is_valid():
            try:
                made = str_draft(case=case, actor=request.user, **form.cleaned_data)
            except CaseRefused as no:
                self.message_user(request, f"{case.ref}: {no.detail}", messages.ERROR)
                return None
            self.message_user(
                request,
                f"{made.ref} drafted for {case.ref}: due {made.due_on:%d %b %Y}.",
                messages.SUCCESS,
            )
            return None
        return TemplateResponse(
            request,
            "admin/compliance/case/draft_str.html",
            {
                **self.admin_site.each_context(request),
                "title": f"STR for {case.ref}: {case.title}",
                "case": case,
                "form": form,
                "opts": self.model._meta,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            },
        )


@admin.register(StrReport)
class StrReportAdmin(ReadOnlyAdmin):
    list_display = [
        "ref",
        "case",
        "status",
        "suspicion_determined_on",
        "due",
        "prepared_by",
        "approved_by",
        "filed_at",
    ]
    list_filter = ["status", "due_on"]
    list_select_related = ["case", "prepared_by", "approved_by"]
    fields = [
        "ref",
        "case",
        "status",
        "suspicion_determined_on",
        "due",
        "categories_shown",
        "grounds",
        "action_taken",
        "prepared_by",
        "prepared_at",
        "approved_by",
        "filed_at",
        "data_sha256",
        "pdf_sha256",
        "downloads",
    ]
    readonly_fields = fields

    @admin.display(description="STR", ordering="id")
    def ref(self, report: StrReport) -> str:
        return report.ref

    @admin.display(description="due", ordering="due_on")
    def due(self, report: StrReport) -> str:
        if report.status == StrStatus.FILED:
            return f"{report.due_on:%d %b %Y} (filed)"
        days = (report.due_on - timezone.localdate(timezone.now(), IST)).days
        state = f"overdue by {-days} day(s)" if days < 0 else f"{days} day(s) left"
        return f"{report.due_on:%d %b %Y} ({state})"

    @admin.display(description="categories")
    def categories_shown(self, report: StrReport) -> str:
        return "; ".join(SUSPICION_CATEGORIES.get(c, c) for c in report.categories)

    @admin.display(description="files")
    def downloads(self, report: StrReport) -> str:
        links = [
            (reverse("admin:compliance_strreport_download", args=[report.pk, kind]), label)
            for kind, label in (("data", "machine-readable file"), ("pdf", "PDF"))
        ]
        note = "" if report.status == StrStatus.FILED else " (a draft, written afresh)"
        return format_html("{}{}", format_html_join(" · ", '<a href="{}">{}</a>', links), note)

    def get_urls(self):
        download = path(
            "<int:pk>/download/<str:kind>/",
            self.admin_site.admin_view(self.download_view),
            name="compliance_strreport_download",
        )
        return [download, *super().get_urls()]

    def download_view(self, request: HttpRequest, pk: int, kind: str) -> HttpResponse:
        """An STR's file, to those who may see STRs; every read is audited."""
        report = StrReport.objects.select_related("case").filter(pk=pk).first()
        if report is None or not self.has_view_permission(request, report):
            raise PermissionDenied
        try:
            name, content = str_file_read(report=report, kind=kind, actor=request.user)
        except CaseRefused as no:
            return HttpResponse(no.detail, status=400, content_type="text/plain")
        content_type = "application/pdf" if kind == "pdf" else _content_type(name)
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


def _content_type(name: str) -> str:
    return {"xml": "application/xml", "json": "application/json", "csv": "text/csv"}.get(
        name.rsplit(".", 1)[-1], "application/octet-stream"
    )
