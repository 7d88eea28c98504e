"""Admin of AML screening: the hits queue an officer disposes (through the services), the
list versions and entries (read-only), and the match rule (changed through its service).

Auditors see every page and change nothing: the queue's actions need
``compliance.screen_aml``, and the lists are read-only for everyone.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html

from compliance.queues import ASSIGNEE_FILTER, age_filter, age_text
from compliance.screening.models import (
    WEIGHT_FIELDS,
    HitStatus,
    ListEntry,
    ListVersion,
    MatchRule,
    ScreeningHit,
    ScreeningList,
)
from compliance.screening.selectors import hits_counts
from compliance.screening.services import (
    SCREEN_AML,
    DispositionRefused,
    match_rule_update,
    screening_hit_dispose,
    screening_hits_assign,
)
from marketdata.calendar import IST
from tradingsite.admin import ReadOnlyAdmin


def _ist(moment) -> str:
    return f"{timezone.localtime(moment, IST):%d %b %Y, %H:%M} IST" if moment else "-"


class DisposeForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="Why: kept with the hit and on the audit trail.",
    )


@admin.register(ScreeningHit)
class ScreeningHitAdmin(ReadOnlyAdmin):
    list_display = [
        "id", "client", "listed", "list_name", "score", "status", "raised_at_ist", "age",
        "assignee", "disposed_by",
    ]  # fmt: skip
    list_filter = [
        "status", "version__screening_list", age_filter("raised_at"), ASSIGNEE_FILTER,
        "case_required", "raised_at",
    ]  # fmt: skip
    search_fields = ["client__name", "entry__name", "=entry_key", "=entry__reference"]
    list_select_related = ["client", "entry", "version__screening_list", "assignee", "disposed_by"]
    ordering = ["status", "raised_at"]
    actions = ["assign_to_me", "dispose_false_positive", "dispose_true_match"]
    fields = [
        "client", "listed", "list_name", "version", "score", "evidence_table", "status",
        "raised_at_ist", "assignee", "disposed_at", "disposed_by", "reason", "case_required",
        "accounts_suspended",
    ]  # fmt: skip
    readonly_fields = fields

    @admin.display(description="listed as")
    def listed(self, hit: ScreeningHit) -> str:
        return f"{hit.entry.name} ({hit.entry.reference})"

    @admin.display(description="list", ordering="version__screening_list")
    def list_name(self, hit: ScreeningHit) -> str:
        return f"{hit.version.screening_list.get_code_display()} v{hit.version.number}"

    @admin.display(description="raised (IST)", ordering="raised_at")
    def raised_at_ist(self, hit: ScreeningHit) -> str:
        return _ist(hit.raised_at)

    @admin.display(description="age")
    def age(self, hit: ScreeningHit) -> str:
        return age_text(hit.raised_at, hit.disposed_at)

    @admin.display(description="evidence")
    def evidence_table(self, hit: ScreeningHit) -> str:
        e = hit.evidence
        return format_html(
            "<table><tr><th>client name</th><td>{}</td></tr>"
            "<tr><th>matched listed name</th><td>{}</td></tr>"
            "<tr><th>normalised</th><td>{} / {}</td></tr>"
            "<tr><th>name score</th><td>{}</td></tr>"
            "<tr><th>date of birth</th><td>{} ({})</td></tr>"
            "<tr><th>nationality</th><td>{} ({})</td></tr>"
            "<tr><th>score / threshold</th><td>{} / {}</td></tr></table>",
            e.get("subject"), e.get("matched_name"), *(e.get("normalised") or ["", ""]),
            e.get("name_score"), e["date_of_birth"]["note"], f"{e['date_of_birth']['points']:+}",
            e["nationality"]["note"], f"{e['nationality']['points']:+}", e.get("score"),
            e.get("threshold"),
        )  # fmt: skip

    def has_screen_aml_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(SCREEN_AML)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        counts = hits_counts()
        oldest = counts["oldest_open"]
        extra_context = {
            **(extra_context or {}),
            "hit_counts": counts["by_status"],
            "oldest_open": _ist(oldest) if oldest else None,
        }
        return super().changelist_view(request, extra_context)

    def _dispose(self, request: HttpRequest, hits: QuerySet, disposition: str, action: str):
        form = DisposeForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            done = refused = 0
            for hit in hits:
                try:
                    screening_hit_dispose(
                        hit=hit, disposition=disposition, reason=form.cleaned_data["reason"],
                        actor=request.user,
                    )  # fmt: skip
                    done += 1
                except DispositionRefused as no:
                    refused += 1
                    self.message_user(request, f"Hit {hit.pk}: {no.detail}", messages.WARNING)
            label = HitStatus(disposition).label
            self.message_user(request, f"{done} hit(s) disposed: {label}.", messages.SUCCESS)
            return None
        return TemplateResponse(
            request,
            "admin/compliance/screeninghit/dispose.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Dispose {hits.count()} hit(s) as: {HitStatus(disposition).label}",
                "hits": hits,
                "form": form,
                "action": action,
                "true_match": disposition == HitStatus.TRUE_MATCH,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(description="Assign to me", permissions=["screen_aml"])
    def assign_to_me(self, request, queryset):
        try:
            n = screening_hits_assign(hits=queryset, assignee=request.user, actor=request.user)
        except DispositionRefused as no:
            self.message_user(request, no.detail, messages.ERROR)
            return
        self.message_user(request, f"{n} open hit(s) assigned to you.", messages.SUCCESS)

    @admin.action(
        description="Dispose as false positive (with a reason)", permissions=["screen_aml"]
    )
    def dispose_false_positive(self, request, queryset):
        return self._dispose(request, queryset, HitStatus.FALSE_POSITIVE, "dispose_false_positive")

    @admin.action(
        description="Dispose as TRUE MATCH: freeze the client's accounts",
        permissions=["screen_aml"],
    )
    def dispose_true_match(self, request, queryset):
        return self._dispose(request, queryset, HitStatus.TRUE_MATCH, "dispose_true_match")


@admin.register(ScreeningList)
class ScreeningListAdmin(ReadOnlyAdmin):
    list_display = ["code", "name"]


class ListEntryInline(admin.TabularInline):
    model = ListEntry
    fields = ["reference", "kind", "name", "aliases", "dates_of_birth", "nationalities", "line"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    max_num = 0

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ListVersion)
class ListVersionAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "source", "entry_count", "imported_at", "imported_by", "sha256"]
    list_filter = ["screening_list"]
    inlines = [ListEntryInline]


@admin.register(ListEntry)
class ListEntryAdmin(ReadOnlyAdmin):
    list_display = ["name", "reference", "kind", "list_type", "version", "listed_on"]
    list_filter = ["version__screening_list", "kind", "version"]
    search_fields = ["name", "=reference"]


@admin.register(MatchRule)
class MatchRuleAdmin(admin.ModelAdmin):
    """The threshold and weights; a change goes through ``match_rule_update`` (audited)."""

    list_display = ["__str__", *WEIGHT_FIELDS, "updated_at"]
    fields = ["list_code", *WEIGHT_FIELDS]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        return ["list_code"]

    def save_model(self, request, obj, form, change) -> None:
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        match_rule_update(rule=obj, changes=changes, actor=request.user)
