"""Top-level URLs: admin, probes, metrics, API docs, and the versioned API.

Every URL under /api/ answers errors as RFC 9457 problem+json (see tradingsite.errors).
"""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from compliance.reports import exports_admin
from ops import api as ops_api
from ops import health, rotation_admin
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
        path("tasks/<str:task_id>", ops_api.TaskResultView.as_view(), name="task-result"),
        path("api-keys", ops_api.ApiKeyListCreate.as_view(), name="api-keys"),
        path("api-keys/<str:key_id>/rotate", ops_api.ApiKeyRotate.as_view(), name="api-key-rotate"),
        path("api-keys/<str:key_id>/revoke", ops_api.ApiKeyRevoke.as_view(), name="api-key-revoke"),
        path("api-keys/<str:key_id>/ips", ops_api.ApiKeyStaticIps.as_view(), name="api-key-ips"),
        path("", include("marketdata.urls")),
        path("", include("compliance.urls")),
        path("", include("orders.urls")),
        path("", include("risk.urls")),
        path("", include("strategies.urls")),
    ],
    "api",
)

urlpatterns = [
    path(
        "admin/ops/rotate-secrets/",
        admin.site.admin_view(rotation_admin.rotate_secrets_view),
        name="ops-rotate-secrets",
    ),
    path(
        "admin/compliance/reports/",
        admin.site.admin_view(exports_admin.reports_view),
        name="compliance-reports",
    ),
    path(
        "admin/compliance/reports/exports/<int:pk>/file",
        admin.site.admin_view(exports_admin.report_file_view),
        name="compliance-report-file",
    ),
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
    path("", include("web.urls")),  # the trader's web app, at the root
]

handler400 = "tradingsite.errors.bad_request"
handler403 = "tradingsite.errors.permission_denied"
handler404 = "tradingsite.errors.page_not_found"
handler500 = "tradingsite.errors.server_error"
