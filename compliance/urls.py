"""Compliance endpoints, mounted under /api/v1/."""

from django.urls import path

from compliance import api
from compliance.reports import api as reports_api

urlpatterns = [
    path("audit-events", api.AuditEventList.as_view(), name="audit-events"),
    path("audit-events/<int:id>", api.AuditEventDetail.as_view(), name="audit-event"),
    path("reports", reports_api.ReportKindList.as_view(), name="reports"),
    path("report-exports", reports_api.ReportExportListCreate.as_view(), name="report-exports"),
    path("report-exports/<int:id>", reports_api.ReportExportDetail.as_view(), name="report-export"),
    path(
        "report-exports/<int:id>/file",
        reports_api.ReportExportFile.as_view(),
        name="report-export-file",
    ),
]
