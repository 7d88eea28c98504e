"""Market-data endpoints, mounted under /api/v1/."""

from django.urls import path

from marketdata import api

urlpatterns = [
    path("instruments", api.InstrumentList.as_view(), name="instruments"),
    path("instruments/<str:key>", api.InstrumentDetail.as_view(), name="instrument"),
    path("instruments/<str:key>/bars", api.BarsView.as_view(), name="instrument-bars"),
    path("quotes", api.QuotesView.as_view(), name="quotes"),
    path("quotes/ltp", api.LtpView.as_view(), name="quotes-ltp"),
    path("quotes/ohlc", api.OhlcView.as_view(), name="quotes-ohlc"),
    path("market/status", api.MarketStatusView.as_view(), name="market-status"),
    path(
        "marketdata/imports/instruments",
        api.InstrumentImportView.as_view(),
        name="import-instruments",
    ),
    path("marketdata/imports/bars", api.BarImportView.as_view(), name="import-bars"),
]
