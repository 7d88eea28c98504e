"""Compliance endpoints, mounted under /api/v1/."""

from django.urls import path

from compliance import api

urlpatterns = [
    path("audit-events", api.AuditEventList.as_view(), name="audit-events"),
    path("audit-events/<int:id>", api.AuditEventDetail.as_view(), name="audit-event"),
]
