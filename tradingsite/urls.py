"""Top-level URLs: admin, probes, metrics, API docs, and the versioned API.

Every URL under /api/ answers errors as RFC 9457 problem+json (see tradingsite.errors).
"""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from ops import health
from ops.api import TaskResultView
from tradingsite import errors
from tradingsite.api import ApiRootView, MeView

admin.site.site_header = "TradingSite back office"
admin.site.site_title = "TradingSite"
admin.site.index_title = "Back office"
admin.site.site_url = "/api/docs/"

api_v1 = (
    [
        path("", ApiRootView.as_view(), name="root"),
        path("me", MeView.as_view(), name="me"),
        path("tasks/<str:task_id>", TaskResultView.as_view(), name="task-result"),
        path("", include("marketdata.urls")),
        path("", include("compliance.urls")),
        path("", include("orders.urls")),
        path("", include("risk.urls")),
    ],
    "api",
)

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),
    path("admin/", admin.site.urls),
    path("health", health.health, name="health"),
    path("ready", health.ready, name="ready"),
    path("", include("django_prometheus.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("api/problems/", errors.problem_types, name="problem-types"),
    path("api/problems/<slug:slug>", errors.problem_types, name="problem-type"),
]

handler400 = "tradingsite.errors.bad_request"
handler403 = "tradingsite.errors.permission_denied"
handler404 = "tradingsite.errors.page_not_found"
handler500 = "tradingsite.errors.server_error"
