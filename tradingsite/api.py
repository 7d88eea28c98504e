"""The versioned API root (/api/v1/) and the caller's identity (/api/v1/me)."""

from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ops.selectors import role_names

API_VERSION = "v1"

#: URL names shown as links on the API root; an app adds its entry points here.
ROOT_LINKS = {
    "me": "api:me",
    "instruments": "api:instruments",
    "quotes": "api:quotes",
    "market_status": "api:market-status",
    "accounts": "api:accounts",
    "orders": "api:orders",
    "positions": "api:positions",
    "api_keys": "api:api-keys",
    "audit_events": "api:audit-events",
    "contract_notes": "api:contract-notes",
    "reports": "api:reports",
    "report_exports": "api:report-exports",
    "strategies": "api:strategies",
    "backtests": "api:backtests",
    "schema": "schema",
    "docs": "swagger-ui",
    "redoc": "redoc",
    "problem_types": "problem-types",
}


class ApiRootView(APIView):
    """Entry point of version 1: server time, the caller, and where to go next."""

    @extend_schema(
        operation_id="api_root",
        responses=inline_serializer(
            "ApiRoot",
            {
                "name": serializers.CharField(),
                "version": serializers.CharField(),
                "server_time": serializers.DateTimeField(),
                "user": serializers.CharField(),
                "links": serializers.DictField(child=serializers.CharField()),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        links = {}
        for key, name in ROOT_LINKS.items():
            try:
                links[key] = request.build_absolute_uri(reverse(name))
            except NoReverseMatch:
                continue
        return Response(
            {
                "name": "TradingSite API",
                "version": API_VERSION,
                "server_time": timezone.localtime(),
                "user": request.user.get_username(),
                "links": links,
            }
        )


class MeOutput(serializers.Serializer):
    username = serializers.CharField()
    full_name = serializers.CharField()
    email = serializers.EmailField()
    is_staff = serializers.BooleanField()
    roles = serializers.ListField(child=serializers.CharField())
    permissions = serializers.ListField(child=serializers.CharField())


class MeView(APIView):
    """The signed-in user, their roles and every permission they hold."""

    @extend_schema(operation_id="me", responses=MeOutput)
    def get(self, request: Request) -> Response:
        user = request.user
        data = {
            "username": user.get_username(),
            "full_name": user.get_full_name(),
            "email": user.email,
            "is_staff": user.is_staff,
            "roles": role_names(user),
            "permissions": sorted(user.get_all_permissions()),
        }
        # Already in MeOutput's shape, and plain strings, lists and a bool: instantiating the
        # serializer on every call (it deep-copies its fields) cost a tenth of a signed request.
        return Response(data)
