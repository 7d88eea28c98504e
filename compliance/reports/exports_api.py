"""Reports API: the kinds a user may run, and export jobs (request, list, detail, file).

A request queues an export (202, with its Location) and a worker on the ``reports`` queue
writes the file; the file is served, checked against its sha256, to its requester or to
holders of ``compliance.export_regulatory_reports`` (others: 404). Refused filters answer
problem+json 400 naming each field, and make no export. Views are thin: they validate,
call one service or selector, and shape.
"""

from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance.reports.exports import report_export_open, report_export_request
from compliance.reports.models import ReportExport
from compliance.reports.registers.base import FILTERS
from compliance.reports.selectors import report_exports_for, report_kinds_for
from ops.models import JobRun
from ops.signing import api_key
from tradingsite.errors import get_or_404
from tradingsite.schema import problems


class ReportKindOutput(serializers.Serializer):
    kind = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    statement = serializers.BooleanField()
    filters = serializers.ListField(child=serializers.CharField())
    needs = serializers.ListField(child=serializers.CharField())
    columns = serializers.ListField(child=serializers.CharField())
    formats = serializers.ListField(child=serializers.CharField())


class ReportKindList(APIView):
    """The report kinds you may run, with the filters each takes (and needs)."""

    @extend_schema(operation_id="reports_list", responses={200: ReportKindOutput(many=True)})
    def get(self, request: Request) -> Response:
        kinds = [
            {
                "kind": r.kind,
                "title": r.title,
                "description": r.description,
                "statement": r.statement,
                "filters": sorted(r.filters),
                "needs": sorted(r.needs),
                "columns": [c.name for c in r.columns],
                "formats": ReportExport.Format.values,
            }
            for r in report_kinds_for(user=request.user, key=api_key(request))
        ]
        return Response(ReportKindOutput(kinds, many=True).data)


class ExportRequestInput(serializers.Serializer):
    """An export's kind and format, and its filters as strings (checked by the service)."""

    kind = serializers.CharField(max_length=64)
    format = serializers.CharField(max_length=8)

    def get_fields(self):
        fields = super().get_fields()
        for name in FILTERS:
            fields[name] = serializers.CharField(required=False, allow_blank=True, max_length=150)
        return fields

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {name: ["is not a filter of any report"] for name in unknown}
            )
        return attrs


class ProgressOutput(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField(allow_null=True)
    percent = serializers.FloatField(allow_null=True)
    status = serializers.CharField()


class ReportExportOutput(serializers.ModelSerializer):
    requested_by = serializers.CharField(source="requested_by.username", default=None)
    progress = serializers.SerializerMethodField()
    file_url = serializers.SerializerMethodField()

    class Meta:
        model = ReportExport
        fields = [
            "id", "kind", "format", "params", "status", "requested_by", "schedule",
            "row_count", "size", "sha256", "error", "database", "created_at", "started_at",
            "finished_at", "progress", "file_url",
        ]  # fmt: skip

    @extend_schema_field(ProgressOutput(allow_null=True))
    def get_progress(self, export: ReportExport) -> dict | None:
        runs = self.context.get("runs")
        run = runs.get(export.job_run_id) if runs is not None else None
        if run is None and runs is None and export.job_run_id:
            run = JobRun.objects.filter(pk=export.job_run_id).first()
        if run is None:
            return None
        return {"done": run.done, "total": run.total, "percent": run.percent, "status": run.status}

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_file_url(self, export: ReportExport) -> str | None:
        if export.status != ReportExport.Status.SUCCEEDED:
            return None
        return reverse("api:report-export-file", args=[export.pk])


def _runs(exports) -> dict[int, JobRun]:
    """The job runs of a page of exports, in one query (their progress)."""
    ids = [e.job_run_id for e in exports if e.job_run_id]
    return {run.pk: run for run in JobRun.objects.filter(pk__in=ids)}


class ReportExportListCreate(generics.ListAPIView):
    """Your report exports, newest first (all of them with the export permission); or
    request one: 202, run by a worker, polled at its Location."""

    serializer_class = ReportExportOutput

    def get_queryset(self):
        return report_exports_for(user=self.request.user)

    @extend_schema(operation_id="report_exports_list")
    def list(self, request: Request, *args, **kwargs) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        out = ReportExportOutput(page, many=True, context={"runs": _runs(page)})
        return self.get_paginated_response(out.data)

    @extend_schema(
        operation_id="report_export_request",
        request=ExportRequestInput,
        responses={202: ReportExportOutput, **problems("permission-denied")},
    )
    def post(self, request: Request) -> Response:
        given = ExportRequestInput(data=request.data)
        given.is_valid(raise_exception=True)
        data = dict(given.validated_data)
        kind, fmt = data.pop("kind"), data.pop("format")
        export = report_export_request(
            user=request.user, kind=kind, fmt=fmt, data=data, key=api_key(request)
        )
        location = reverse("api:report-export", args=[export.pk])
        return Response(
            ReportExportOutput(export).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": location},
        )


class ReportExportDetail(generics.RetrieveAPIView):
    """One report export: its status, progress, row count, sha256 and file link."""

    serializer_class = ReportExportOutput

    @extend_schema(operation_id="report_export_detail")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_object(self) -> ReportExport:
        pk = self.kwargs["id"]
        exports = report_exports_for(user=self.request.user)
        return get_or_404(exports, f"No report export {pk} that you may see.", pk=pk)


CONTENT_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


class ReportExportFile(APIView):
    """The export's file, streamed, once its sha256 matches the one recorded."""

    @extend_schema(
        operation_id="report_export_file",
        responses={
            **{
                (200, content_type): OpenApiResponse(
                    OpenApiTypes.BINARY, description="The CSV, XLSX or PDF"
                )
                for content_type in CONTENT_TYPES.values()
            },
            **problems("conflict", "file-altered"),
        },
    )
    def get(self, request: Request, id: int) -> FileResponse:
        export = get_or_404(
            report_exports_for(user=request.user), f"No report export {id} that you may see.", pk=id
        )
        file = report_export_open(export=export, user=request.user)
        return FileResponse(
            file,
            as_attachment=True,
            filename=f"{export.kind}-{export.pk}.{export.format}",
            content_type=CONTENT_TYPES[export.format],
        )
