"""Test-only views that raise each kind of API error, to test the problem+json contract."""

from django.urls import include, path
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from tradingsite.errors import Conflict, Unprocessable
from tradingsite.pagination import StandardPagination


class LegInput(serializers.Serializer):
    price = serializers.DecimalField(max_digits=12, decimal_places=2)


class OrderInput(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1)
    side = serializers.ChoiceField(choices=["BUY", "SELL"])
    legs = LegInput(many=True, required=False)


class EchoOrder(APIView):
    permission_classes = [AllowAny]

    def post(self, request):
        data = OrderInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response({"quantity": data.validated_data["quantity"]})


class Duplicate(APIView):
    permission_classes = [AllowAny]

    def post(self, request):
        raise Conflict("An order with this client_order_id is still being placed.")


class Mismatch(APIView):
    permission_classes = [AllowAny]

    def post(self, request):
        raise Unprocessable(
            "client_order_id was used before with a different payload.",
            errors={"quantity": ["was 10 in the original request"]},
            extra={"original_order_id": 42},
        )


class AlwaysThrottled(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        return False

    def wait(self) -> float:
        return 7


class Throttled(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [AlwaysThrottled]

    def get(self, request):
        return Response({})


class Numbers(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        paginator = StandardPagination()
        page = paginator.paginate_queryset(list(range(1, 1201)), request, view=self)
        return paginator.get_paginated_response(page)


class Crash(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError("boom: a bug in a view")


test_api = (
    [
        path("orders", EchoOrder.as_view()),
        path("duplicate", Duplicate.as_view()),
        path("mismatch", Mismatch.as_view()),
        path("throttled", Throttled.as_view()),
        path("crash", Crash.as_view()),
        path("numbers", Numbers.as_view()),
    ],
    "test",
)

urlpatterns = [
    path("api/test/", include(test_api)),
    path("", include("tradingsite.urls")),
]
from tradingsite.urls import handler400, handler403, handler404, handler500  # noqa: E402, F401
