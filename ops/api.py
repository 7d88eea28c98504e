"""API views of the ops app: background job (Celery task) status."""

import json

from django.shortcuts import get_object_or_404
from django_celery_results.models import TaskResult
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tradingsite.permissions import holds


class TaskResultOutput(serializers.Serializer):
    task_id = serializers.CharField()
    task_name = serializers.CharField(allow_null=True)
    status = serializers.CharField(help_text="PENDING, STARTED, SUCCESS, FAILURE, RETRY or REVOKED")
    worker = serializers.CharField(allow_null=True)
    queue = serializers.CharField(allow_null=True, source="routing_key")
    date_created = serializers.DateTimeField()
    date_done = serializers.DateTimeField(allow_null=True)
    result = serializers.JSONField(allow_null=True)


class TaskResultView(APIView):
    """State and result of one background job, as recorded by its worker."""

    permission_classes = [holds("ops.view_task_results")]

    @extend_schema(operation_id="task_result", responses=TaskResultOutput)
    def get(self, request: Request, task_id: str) -> Response:
        task = get_object_or_404(TaskResult, task_id=task_id)
        task.result = None if task.result is None else json.loads(task.result)
        return Response(TaskResultOutput(task).data)
