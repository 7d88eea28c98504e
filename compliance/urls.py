"""Compliance endpoints, mounted under /api/v1/."""

from django.urls import path

from compliance import api
from compliance.reports import api as reports_api
from compliance.reports import exports_api

urlpatterns = [
    path("audit-events", api.AuditEventList.as_view(), name="audit-events"),
    path("audit-events/<int:id>", api.AuditEventDetail.as_view(), name="audit-event"),
    path("contract-notes", reports_api.ContractNoteList.as_view(), name="contract-notes"),
    path(
        "contract-notes/<str:number>",
        reports_api.ContractNoteDetail.as_view(),
        name="contract-note",
    ),
    path(
        "contract-notes/<str:number>/file.<str:kind>",
        reports_api.ContractNoteFile.as_view(),
        name="contract-note-file",
    ),
    path("reports", exports_api.ReportKindList.as_view(), name="reports"),
    path("report-exports", exports_api.ReportExportListCreate.as_view(), name="report-exports"),
    path("report-exports/<int:id>", exports_api.ReportExportDetail.as_view(), name="report-export"),
    path(
        "report-exports/<int:id>/file",
        exports_api.ReportExportFile.as_view(),
        name="report-export-file",
    ),
]
