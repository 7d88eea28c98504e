"""Admin of the ops app: long-job runs (read-only), API keys (through ops.apikeys) and the IP
allowlist rows."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from compliance.services import audit_record
from ops.apikeys import (
    ApiKeyError,
    api_key_bind_ips,
    api_key_create,
    api_key_revoke,
    api_key_rotate,
)
from ops.models import AllowlistEntry, ApiKey, JobRun
from orders.models import TradingAccount


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "description", "status", "done", "total", "percent", "started_at"]
    list_filter = ["status", "kind"]
    search_fields = ["description", "message"]
    readonly_fields = [f.name for f in JobRun._meta.fields] + ["percent"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ApiKeyCreateForm(forms.Form):
    user = forms.ModelChoiceField(queryset=get_user_model().objects.filter(is_active=True))
    account = forms.ModelChoiceField(queryset=TradingAccount.objects.all())
    label = forms.CharField(max_length=80)
    scope = forms.ChoiceField(choices=ApiKey.Scope.choices)
    days = forms.IntegerField(min_value=1, initial=90, help_text="How long the key lives")
    algo_id = forms.CharField(max_length=32, required=False, help_text="Exchange-issued algo ID")
    algo_registered = forms.BooleanField(required=False)
    primary_ip = forms.GenericIPAddressField(help_text="SEBI: the static IP requests come from")
    secondary_ip = forms.GenericIPAddressField(required=False)


class StaticIpForm(forms.Form):
    primary_ip = forms.GenericIPAddressField()
    secondary_ip = forms.GenericIPAddressField(required=False)


@admin.action(description="Rotate the selected keys (new secret; the old one overlaps)")
def rotate_keys(modeladmin, request, queryset):
    issued, refused = [], []
    for key in queryset:
        try:
            issued.append(api_key_rotate(actor=request.user, key=key))
        except ApiKeyError as exc:
            refused.append(str(exc))
    for message in refused:
        modeladmin.message_user(request, message, messages.ERROR)
    return modeladmin.secret_page(request, issued) if issued else None


@admin.action(description="Revoke the selected keys")
def revoke_keys(modeladmin, request, queryset) -> None:
    for key in queryset:
        try:
            api_key_revoke(actor=request.user, key=key)
            modeladmin.message_user(request, f"{key.key_id} revoked.", messages.SUCCESS)
        except ApiKeyError as exc:
            modeladmin.message_user(request, str(exc), messages.ERROR)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created, rotated, revoked and re-bound only through ops.apikeys; the secret
    appears once, on the page that follows creation or rotation, and never again."""

    list_display = [
        "key_id", "label", "user", "account", "scope", "static_ips", "algo_id", "state",
        "expires_at", "last_used_at", "ip_link",
    ]  # fmt: skip
    list_filter = ["scope", "algo_registered"]
    list_select_related = ["user", "account"]
    search_fields = ["key_id", "label", "user__username", "account__code", "algo_id"]
    exclude = ["secret"]
    actions = [rotate_keys, revoke_keys]

    def has_module_permission(self, request) -> bool:
        return request.user.has_perm("ops.manage_api_keys")

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="State")
    def state(self, key: ApiKey) -> str:
        if key.revoked_at:
            return "revoked"
        if key.expires_at <= timezone.now():
            return "expired"
        return f"rotated to {key.replaced_by.key_id}" if key.replaced_by_id else "active"

    @admin.display(description="Static IPs")
    def static_ips(self, key: ApiKey) -> str:
        return ", ".join(key.static_ips) or "none (unusable)"

    @admin.display(description="")
    def ip_link(self, key: ApiKey) -> str:
        url = reverse("admin:ops_apikey_ips", args=[key.pk])
        return format_html('<a href="{}">Change static IPs</a>', url)

    def get_urls(self):
        ips = path(
            "<int:pk>/ips/", self.admin_site.admin_view(self.ips_view), name="ops_apikey_ips"
        )
        return [ips, *super().get_urls()]

    def secret_page(self, request, issued: list[tuple[ApiKey, str]]) -> TemplateResponse:
        context = {**self.admin_site.each_context(request), "title": "Copy the secret now"}
        context["issued"] = issued
        response = TemplateResponse(request, "admin/ops/apikey/secret.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ApiKeyCreateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                issued = api_key_create(actor=request.user, **form.cleaned_data)
            except ApiKeyError as exc:
                form.add_error(None, str(exc))
            else:
                return self.secret_page(request, [issued])
        return self._form_page(request, form, "Create an API key")

    def ips_view(self, request, pk: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        key = get_object_or_404(ApiKey, pk=pk)
        initial = {"primary_ip": key.primary_ip, "secondary_ip": key.secondary_ip}
        form = StaticIpForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                api_key_bind_ips(actor=request.user, key=key, **form.cleaned_data)
            except ApiKeyError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, f"{key.key_id}: static IPs saved.", messages.SUCCESS)
                return redirect("admin:ops_apikey_changelist")
        return self._form_page(request, form, f"Static IPs of {key.key_id} (once in 7 days)")

    def _form_page(self, request, form, title: str) -> TemplateResponse:
        context = {**self.admin_site.each_context(request), "title": title, "form": form}
        context["opts"] = self.model._meta
        return TemplateResponse(request, "admin/ops/apikey/form.html", context)


@admin.register(AllowlistEntry)
class AllowlistEntryAdmin(admin.ModelAdmin):
    """Rows beside deploy/allowlist.txt; changes apply at once, in every process."""

    list_display = ["network", "surface", "note", "created_at"]
    list_filter = ["surface"]

    def _may(self, request) -> bool:
        return request.user.has_perm("ops.manage_ip_allowlist")

    def has_module_permission(self, request) -> bool:
        return self._may(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._may(request)

    def has_add_permission(self, request) -> bool:
        return self._may(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._may(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._may(request)

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        audit_record(
            action="ops.allowlist_saved",
            obj=obj,
            actor=request.user,
            after={"network": obj.network, "surface": obj.surface, "note": obj.note},
        )

    def delete_model(self, request, obj) -> None:
        audit_record(
            action="ops.allowlist_deleted",
            obj=obj,
            actor=request.user,
            before={"network": obj.network, "surface": obj.surface},
        )
        super().delete_model(request, obj)
