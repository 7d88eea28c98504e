"""Audit-trail API: read-only, newest first, for holders of compliance.view_audit_trail.

The trail only grows, and may hold tens of millions of events, so lists page by cursor
on ``id`` (no COUNT, no deep OFFSET). Any write method answers 405 problem+json.
"""

from datetime import datetime, time, timedelta

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers

from compliance.models import AuditEvent
from compliance.selectors import audit_events
from tradingsite.errors import get_or_404
from tradingsite.pagination import StandardCursorPagination
from tradingsite.permissions import holds

ViewAuditTrail = holds("compliance.view_audit_trail")


class AuditEventPagination(StandardCursorPagination):
    ordering = "-id"
    page_size = 50


class AuditEventOutput(serializers.ModelSerializer):
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id", "chain", "seq", "occurred_at", "action", "object_type", "object_id", "actor_id",
            "actor_username", "source_ip", "request_id", "before", "after", "prev_hash", "hash",
        ]  # fmt: skip


def _moment(value: str, *, end: bool) -> datetime:
    """A date (the whole day) or an ISO datetime; naive values are in IST."""
    try:
        if len(value) == 10:
            day = datetime.fromisoformat(value).date() + timedelta(days=1 if end else 0)
            moment = datetime.combine(day, time(0))
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        raise serializers.ValidationError(
            f"{value!r} is not a date (YYYY-MM-DD) or an ISO datetime."
        ) from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


class AuditEventFilters(serializers.Serializer):
    action = serializers.CharField(required=False, max_length=64)
    object_type = serializers.CharField(required=False, max_length=100)
    object_id = serializers.CharField(required=False, max_length=64)
    actor = serializers.CharField(required=False, max_length=150)
    since = serializers.CharField(required=False)
    until = serializers.CharField(required=False)

    def validate_since(self, value: str) -> datetime:
        return _moment(value, end=False)

    def validate_until(self, value: str) -> datetime:
        return _moment(value, end=True)


FILTER_PARAMETERS = [
    OpenApiParameter("action", str, description="e.g. order.accepted, auth.login_failed"),
    OpenApiParameter("object_type", str, description="app_label.model_name, e.g. orders.order"),
    OpenApiParameter("object_id", str),
    OpenApiParameter("actor", str, description="Username, or user id"),
    OpenApiParameter("from", str, description="YYYY-MM-DD or ISO datetime (IST if no offset)"),
    OpenApiParameter("to", str, description="YYYY-MM-DD (inclusive) or ISO datetime (exclusive)"),
]


class AuditEventList(generics.ListAPIView):
    """The audit trail, newest first; filter by action, object, actor and time."""

    permission_classes = [ViewAuditTrail]
    serializer_class = AuditEventOutput
    pagination_class = AuditEventPagination
    filter_backends = []

    @extend_schema(operation_id="audit_events_list", parameters=FILTER_PARAMETERS)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        query = self.request.query_params
        renamed = {"from": "since", "to": "until"}
        filters = AuditEventFilters(data={renamed.get(k, k): v for k, v in query.items()})
        if not filters.is_valid():
            back = {"since": "from", "until": "to"}
            raise serializers.ValidationError(
                {back.get(k, k): v for k, v in filters.errors.items()}
            )
        return audit_events(**filters.validated_data)


class AuditEventDetail(generics.RetrieveAPIView):
    """One audit event, by its id (its place in the whole trail)."""

    permission_classes = [ViewAuditTrail]
    serializer_class = AuditEventOutput
    queryset = AuditEvent.objects.all()
    lookup_field = "id"

    @extend_schema(operation_id="audit_event_detail")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_object(self) -> AuditEvent:
        pk = self.kwargs["id"]
        return get_or_404(self.get_queryset(), f"No audit event {pk}.", pk=pk)
