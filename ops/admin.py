"""Admin of the ops app: long-job runs, read-only."""

from django.contrib import admin

from ops.models import JobRun


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
