"""A DRF view that records an audit event, for the request-context tests."""

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance.services import audit_record


class RecordView(APIView):
    def post(self, request: Request) -> Response:
        event = audit_record(action="test.recorded", after={"via": "api"})
        return Response({"seq": event.seq})


class OpenRecordView(RecordView):
    permission_classes = [AllowAny]


urlpatterns = [
    path("record", RecordView.as_view()),
    path("record/open", OpenRecordView.as_view()),
]
