"""API views of the ops app: background job (Celery task) status, and self-service API keys."""

import json

from django_celery_results.models import TaskResult
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ops.apikeys import (
    api_key_bind_ips,
    api_key_create,
    api_key_revoke,
    api_key_rotate,
)
from ops.models import ApiKey
from ops.signing import api_key
from orders.api import StrictSerializer
from orders.selectors import accounts_for
from tradingsite.errors import get_or_404
from tradingsite.permissions import holds
from tradingsite.schema import problems


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
        task = get_or_404(TaskResult, f"No background job {task_id}.", task_id=task_id)
        task.result = None if task.result is None else json.loads(task.result)
        return Response(TaskResultOutput(task).data)


# --- API keys: self-service for signed-in users (a key cannot mint keys) ------------------------


class NotWithAKey(BasePermission):
    message = "API keys are managed from a signed-in session, not with another API key."

    def has_permission(self, request, view) -> bool:
        return api_key(request) is None


class ApiKeyOutput(serializers.ModelSerializer):
    account = serializers.CharField(source="account.code")
    static_ips = serializers.ListField(child=serializers.IPAddressField())
    replaced_by = serializers.CharField(source="replaced_by.key_id", allow_null=True)

    class Meta:
        model = ApiKey
        fields = [
            "key_id", "label", "account", "scope", "algo_id", "algo_registered", "static_ips",
            "created_at", "expires_at", "revoked_at", "last_used_at", "replaced_by",
        ]  # fmt: skip


class IssuedKeyOutput(ApiKeyOutput):
    secret = serializers.CharField(help_text="Shown in this answer only; store it now")

    class Meta(ApiKeyOutput.Meta):
        fields = [*ApiKeyOutput.Meta.fields, "secret"]


class ApiKeyInput(StrictSerializer):
    account = serializers.CharField(max_length=16)
    label = serializers.CharField(max_length=80)
    scope = serializers.ChoiceField(choices=ApiKey.Scope.choices, default=ApiKey.Scope.READ)
    days = serializers.IntegerField(min_value=1, required=False)
    primary_ip = serializers.IPAddressField()
    secondary_ip = serializers.IPAddressField(required=False, allow_null=True)


class StaticIpInput(StrictSerializer):
    primary_ip = serializers.IPAddressField()
    secondary_ip = serializers.IPAddressField(required=False, allow_null=True)


def _issued(key: ApiKey, secret: str, created: int = status.HTTP_201_CREATED) -> Response:
    body = IssuedKeyOutput(key).data | {"secret": secret}
    return Response(body, status=created, headers={"Cache-Control": "no-store"})


def _own_key(request: Request, key_id: str) -> ApiKey:
    return get_or_404(
        ApiKey.objects.select_related("account"),
        f"No API key {key_id} of yours.",
        key_id=key_id,
        user=request.user,
    )


SELF_SERVICE = [holds("ops.manage_own_api_keys"), NotWithAKey]


class ApiKeyListCreate(APIView):
    """Your API keys; POST issues one for an account you are linked to (secret shown once)."""

    permission_classes = SELF_SERVICE

    @extend_schema(operation_id="api_keys_list", responses=ApiKeyOutput(many=True))
    def get(self, request: Request) -> Response:
        keys = ApiKey.objects.filter(user=request.user).select_related("account", "replaced_by")
        return Response(ApiKeyOutput(keys, many=True).data)

    @extend_schema(
        operation_id="api_key_create",
        request=ApiKeyInput,
        examples=[
            OpenApiExample(
                "A trading key for one machine",
                request_only=True,
                value={
                    "account": "TS0001",
                    "label": "colo box 1",
                    "scope": "trade",
                    "days": 90,
                    "primary_ip": "127.0.0.1",
                },
            )
        ],
        responses={201: IssuedKeyOutput, **problems("not-found", "unprocessable")},
    )
    def post(self, request: Request) -> Response:
        data = ApiKeyInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        code = fields.pop("account")
        account = get_or_404(
            accounts_for(request.user), f"No account {code} that you may see.", code=code
        )
        key, secret = api_key_create(
            actor=request.user, user=request.user, account=account, **fields
        )
        return _issued(key, secret)


class ApiKeyRotate(APIView):
    """A successor key with a new secret (shown once); the old one works for the overlap."""

    permission_classes = SELF_SERVICE

    @extend_schema(
        operation_id="api_key_rotate",
        request=None,
        responses={201: IssuedKeyOutput, **problems("unprocessable")},
    )
    def post(self, request: Request, key_id: str) -> Response:
        key, secret = api_key_rotate(actor=request.user, key=_own_key(request, key_id))
        return _issued(key, secret)


class ApiKeyRevoke(APIView):
    permission_classes = SELF_SERVICE

    @extend_schema(
        operation_id="api_key_revoke",
        request=None,
        responses={200: ApiKeyOutput, **problems("unprocessable")},
    )
    def post(self, request: Request, key_id: str) -> Response:
        key = api_key_revoke(actor=request.user, key=_own_key(request, key_id))
        return Response(ApiKeyOutput(key).data)


class ApiKeyStaticIps(APIView):
    """Bind the key's static IPs; after the first binding, once in seven days (SEBI)."""

    permission_classes = SELF_SERVICE

    @extend_schema(
        operation_id="api_key_static_ips",
        request=StaticIpInput,
        examples=[
            OpenApiExample(
                "Two static IPs",
                request_only=True,
                value={"primary_ip": "127.0.0.1", "secondary_ip": "::1"},
            )
        ],
        responses={200: ApiKeyOutput, **problems("unprocessable")},
    )
    def put(self, request: Request, key_id: str) -> Response:
        data = StaticIpInput(data=request.data)
        data.is_valid(raise_exception=True)
        key = api_key_bind_ips(
            actor=request.user, key=_own_key(request, key_id), **data.validated_data
        )
        return Response(ApiKeyOutput(key).data)
