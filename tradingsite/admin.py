"""Admin pieces shared by every app."""

from django.contrib import admin

from tradingsite.records import is_kept


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that only services write: nobody adds, changes or deletes them in the admin,
    superusers included."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class KeptRecordAdmin(admin.ModelAdmin):
    """Kept records (``tradingsite.records``) are never deleted here: not one by one, not in
    bulk, not through an inline. The admin site mixes this into every kept model's admin."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_inline_instances(self, request, obj=None):
        inlines = super().get_inline_instances(request, obj)
        for inline in inlines:
            if is_kept(inline.model):
                inline.can_delete = False
        return inlines
