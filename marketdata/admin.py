"""Admin of the market-data app: the instrument master and a live market watch."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path

from marketdata import calendar
from marketdata.models import IndexMembership, Instrument


class IndexMembershipInline(admin.TabularInline):
    model = IndexMembership
    extra = 0


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = [
        "tradingsymbol", "exchange", "name", "sector", "series", "tick_size", "lot_size",
        "price_band_pct", "asm_stage", "gsm_stage", "is_active",
    ]  # fmt: skip
    list_filter = [
        "exchange",
        "is_active",
        "series",
        "sector",
        "asm_stage",
        "gsm_stage",
        "indices__index",
    ]
    search_fields = ["tradingsymbol", "name", "isin"]
    readonly_fields = ["updated_at"]
    inlines = [IndexMembershipInline]

    def get_urls(self):
        watch = path(
            "watch/", self.admin_site.admin_view(self.market_watch), name="marketdata_watch"
        )
        return [watch, *super().get_urls()]

    def market_watch(self, request):
        if not request.user.has_perm("marketdata.view_market_data"):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Market watch: NIFTY 50",
            "market": calendar.market_status(),
        }
        return TemplateResponse(request, "admin/marketdata/watch.html", context)
