"""Shared reads of reports: the kinds a user may run and the exports a user may see."""

from typing import Any

from django.db.models import QuerySet

from compliance.reports.models import ReportExport
from compliance.reports.registers import REGISTERS, Register

EXPORT_PERM = "compliance.export_regulatory_reports"


def report_kinds_for(*, user: Any) -> list[Register]:
    """The registers ``user`` may run: all of them with the export permission, else the
    statements (of their own client), by kind."""
    staff = user.has_perm(EXPORT_PERM)
    return [REGISTERS[k] for k in sorted(REGISTERS) if staff or REGISTERS[k].statement]


def report_exports_for(*, user: Any) -> QuerySet[ReportExport]:
    """Exports ``user`` may see: every one with the export permission, else their own."""
    exports = ReportExport.objects.select_related("requested_by")
    if user.has_perm(EXPORT_PERM):
        return exports
    return exports.filter(requested_by_id=user.pk)
