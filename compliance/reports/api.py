"""Contract notes API: a client's notes and their files (signed PDF, CSV, JSON), read-only.

A user sees the notes of the clients of the trading accounts linked to them; compliance
staff (``compliance.export_regulatory_reports``) and auditors (``orders.view_all_accounts``)
see every note; a request signed with an API key sees its account's client's notes only.
Another client's note answers 404, as if it did not exist. A file is checked against its
recorded sha256 before it is served (a mismatch is a 500 problem naming the file) and every
download is audited.
"""

from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance.reports.models import ContractNoteRecord
from compliance.reports.selectors import FILE_KINDS, contract_note_file_open, contract_notes_for
from compliance.reports.services import contract_note_downloaded
from ops.signing import api_key
from tradingsite.errors import NotFound, get_or_404
from tradingsite.pagination import StandardCursorPagination
from tradingsite.schema import problems


class ContractNotePagination(StandardCursorPagination):
    ordering = ("-trade_date", "-id")
    page_size = 50


class ContractNoteFilters(serializers.Serializer):
    date_from = serializers.DateField(required=False, help_text="Trade date from (YYYY-MM-DD)")
    date_to = serializers.DateField(required=False, help_text="Trade date to, inclusive")

    def validate(self, attrs):
        start, end = attrs.get("date_from"), attrs.get("date_to")
        if start and end and start > end:
            raise serializers.ValidationError(
                {"date_to": [f"date_to {end} is before date_from {start}."]}
            )
        return attrs


class ContractNoteFileOutput(serializers.Serializer):
    url = serializers.CharField()
    sha256 = serializers.CharField()
    content_type = serializers.CharField()


class ContractNoteOutput(serializers.ModelSerializer):
    client = serializers.CharField(source="client.name")
    supplements = serializers.CharField(
        source="supplements.number", allow_null=True, default=None,
        help_text="A supplementary note (fills after the day's note): that note's number",
    )  # fmt: skip
    files = serializers.SerializerMethodField()

    class Meta:
        model = ContractNoteRecord
        fields = ["number", "trade_date", "settlement_number", "client", "part", "supplements",
                  "generated_at", "files"]  # fmt: skip

    @extend_schema(responses=serializers.DictField(child=ContractNoteFileOutput()))
    def get_files(self, note: ContractNoteRecord) -> dict:
        return {
            kind: {
                "url": reverse("api:contract-note-file", args=[note.number, kind]),
                "sha256": getattr(note, f"{kind}_sha256"),
                "content_type": content_type,
            }
            for kind, content_type in FILE_KINDS.items()
        }


def _notes(request: Request):
    return contract_notes_for(user=request.user, key=api_key(request))


def _note(request: Request, number: str) -> ContractNoteRecord:
    return get_or_404(
        _notes(request), f"No contract note {number} that you may see.", number=number
    )


class ContractNoteList(generics.ListAPIView):
    """Your contract notes, newest trade date first; filter by trade date."""

    serializer_class = ContractNoteOutput
    pagination_class = ContractNotePagination
    filter_backends = []

    @extend_schema(
        operation_id="contract_notes_list",
        parameters=[
            OpenApiParameter("date_from", OpenApiTypes.DATE),
            OpenApiParameter("date_to", OpenApiTypes.DATE, description="Inclusive"),
        ],
        responses={200: ContractNoteOutput(many=True), **problems("validation-error")},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        query = self.request.query_params
        filters = ContractNoteFilters(
            data={k: query[k] for k in ("date_from", "date_to") if query.get(k)}
        )
        filters.is_valid(raise_exception=True)
        notes = _notes(self.request)
        if "date_from" in filters.validated_data:
            notes = notes.filter(trade_date__gte=filters.validated_data["date_from"])
        if "date_to" in filters.validated_data:
            notes = notes.filter(trade_date__lte=filters.validated_data["date_to"])
        return notes


class ContractNoteDetail(APIView):
    """One contract note by its number, with its files' links and sha256."""

    @extend_schema(
        operation_id="contract_note_detail",
        responses={200: ContractNoteOutput, **problems("not-found")},
    )
    def get(self, request: Request, number: str):
        return Response(ContractNoteOutput(_note(request, number)).data)


class ContractNoteFile(APIView):
    """A note's file as stored: the signed PDF, the CSV or the JSON, checked against its
    sha256 before it is sent (the ``X-Content-SHA256`` header carries it)."""

    @extend_schema(
        operation_id="contract_note_file",
        responses={
            **{
                (200, content_type): OpenApiResponse(
                    OpenApiTypes.OBJECT if kind == "json" else OpenApiTypes.BINARY,
                    description="The file (PDF, CSV or JSON)",
                )
                for kind, content_type in FILE_KINDS.items()
            },
            **problems("not-found", "server-error"),
        },
    )
    def get(self, request: Request, number: str, kind: str) -> FileResponse:
        if kind not in FILE_KINDS:
            raise NotFound(f"No file .{kind} of a contract note: pdf, csv or json.")
        note = _note(request, number)
        handle = contract_note_file_open(note=note, kind=kind)
        contract_note_downloaded(note=note, kind=kind, actor=request.user)
        response = FileResponse(
            handle, as_attachment=True, filename=f"{note.number}.{kind}",
            content_type=FILE_KINDS[kind],
        )  # fmt: skip
        response["X-Content-SHA256"] = getattr(note, f"{kind}_sha256")
        return response
