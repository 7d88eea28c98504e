"""Risk API: limits and their four-eyes changes, kill switches, what-if checks, position sizing."""

from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketdata.models import Instrument
from orders.api import ORDER_EXAMPLES, OrderInput, _account_for
from orders.services import order_what_if
from orders.validation import OrderRequest
from risk.choices import KillSwitchLevel, KillSwitchMode, LimitKind, Scope
from risk.models import Desk, KillSwitch, LimitChange, RiskLimit
from risk.services import (
    kill_switch_reset,
    kill_switch_trip,
    limit_decide,
    limit_propose,
)
from risk.sizing import position_size
from tradingsite.errors import get_or_404
from tradingsite.permissions import holds
from tradingsite.schema import problems

MONEY = {"max_digits": 18, "decimal_places": 2}


def _targets(request: Request, fields: dict) -> tuple:
    """Take the account code and trading symbol out of ``fields`` as the objects they name."""
    code, symbol = fields.pop("account", None), fields.pop("tradingsymbol", None)
    account = _account_for(request, code, acting=False) if code else None
    instrument = (
        get_or_404(Instrument, f"No instrument {symbol}.", tradingsymbol=symbol) if symbol else None
    )
    return account, instrument


class LimitOutput(serializers.ModelSerializer):
    class Meta:
        model = RiskLimit
        fields = ["id", "scope", "target", "kind", "value", "products", "change", "updated_at"]


class LimitList(generics.ListAPIView):
    """Limits in force (every layer)."""

    queryset = RiskLimit.objects.order_by("target", "kind")
    serializer_class = LimitOutput
    permission_classes = [holds("risk.view_exposure")]
    filter_backends = []


class ChangeInput(serializers.Serializer):
    scope = serializers.ChoiceField(choices=Scope.choices)
    kind = serializers.ChoiceField(choices=LimitKind.choices)
    value = serializers.DecimalField(**MONEY, required=False, allow_null=True, min_value=Decimal(0))
    products = serializers.CharField(max_length=20, required=False, default="", allow_blank=True)
    remove = serializers.BooleanField(default=False)
    desk = serializers.PrimaryKeyRelatedField(
        queryset=Desk.objects.all(), required=False, allow_null=True
    )
    account = serializers.CharField(max_length=16, required=False, allow_null=True)
    tradingsymbol = serializers.CharField(max_length=20, required=False, allow_null=True)
    reason = serializers.CharField(max_length=200)

    def validate(self, attrs):
        needs = {
            Scope.DESK: ["desk"],
            Scope.ACCOUNT: ["account"],
            Scope.ACCOUNT_INSTRUMENT: ["account", "tradingsymbol"],
        }.get(attrs["scope"], [])
        missing = {
            name: [f"is required for scope {attrs['scope']}"]
            for name in needs
            if not attrs.get(name)
        }
        if missing:
            raise serializers.ValidationError(missing)
        return attrs


class ChangeOutput(serializers.ModelSerializer):
    proposed_by = serializers.CharField(source="proposed_by.username")
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)

    class Meta:
        model = LimitChange
        fields = [
            "id",
            "status",
            "scope",
            "kind",
            "value",
            "products",
            "remove",
            "reason",
            "proposed_by",
            "proposed_at",
            "decided_by",
            "decided_at",
        ]


class ChangeListCreate(generics.ListAPIView):
    """Proposed limit changes (maker); each takes effect only when another risk manager approves."""

    queryset = LimitChange.objects.select_related("proposed_by", "decided_by")
    serializer_class = ChangeOutput
    filterset_fields = ["status", "kind", "scope"]

    def get_permissions(self):
        perm = (
            "risk.propose_limit_change" if self.request.method == "POST" else "risk.view_exposure"
        )
        return [holds(perm)()]

    @extend_schema(
        operation_id="limit_change_propose",
        request=ChangeInput,
        examples=[
            OpenApiExample(
                "Cap one account's order value",
                request_only=True,
                value={
                    "scope": "account",
                    "account": "TS0001",
                    "kind": "max_order_value",
                    "value": "2500000.00",
                    "reason": "new client, first month",
                },
            ),
            OpenApiExample(
                "Cap a quantity in one instrument",
                request_only=True,
                value={
                    "scope": "account_instrument",
                    "account": "TS0001",
                    "tradingsymbol": "INFY",
                    "kind": "max_order_quantity",
                    "value": "500",
                    "reason": "results day",
                },
            ),
        ],
        responses={201: ChangeOutput, **problems("not-found")},
    )
    def post(self, request: Request) -> Response:
        data = ChangeInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        account, instrument = _targets(request, fields)
        change = limit_propose(actor=request.user, account=account, instrument=instrument, **fields)
        return Response(ChangeOutput(change).data, status=201)


class ChangeDecide(APIView):
    """Approve or reject a proposed change (checker); never the proposer."""

    permission_classes = [holds("risk.approve_limit_change")]
    approve = True

    @extend_schema(
        request=None,
        responses={200: ChangeOutput, **problems("permission-denied", "conflict")},
    )
    def post(self, request: Request, pk: int) -> Response:
        change = get_or_404(LimitChange, f"No limit change {pk}.", pk=pk)
        change = limit_decide(change=change, actor=request.user, approve=self.approve)
        return Response(ChangeOutput(change).data)


class ChangeReject(ChangeDecide):
    approve = False


class SwitchInput(serializers.Serializer):
    level = serializers.ChoiceField(choices=KillSwitchLevel.choices)
    mode = serializers.ChoiceField(
        choices=KillSwitchMode.choices,
        default=KillSwitchMode.HALT,
        help_text="halt: cancel every open order and refuse new ones; reduce_only: keep and "
        "accept only orders that reduce the position (protective stops)",
    )
    account = serializers.CharField(max_length=16, required=False, allow_null=True)
    tradingsymbol = serializers.CharField(max_length=20, required=False, allow_null=True)
    algo_id = serializers.CharField(max_length=32, required=False, default="")
    reason = serializers.CharField(max_length=200)

    def validate(self, attrs):
        field = {
            KillSwitchLevel.ACCOUNT: "account",
            KillSwitchLevel.INSTRUMENT: "tradingsymbol",
            KillSwitchLevel.ALGO: "algo_id",
        }.get(attrs["level"])
        if field and not attrs.get(field):
            raise serializers.ValidationError(
                {field: [f"is required for a {attrs['level']} kill switch"]}
            )
        return attrs


class SwitchOutput(serializers.ModelSerializer):
    active = serializers.BooleanField()

    class Meta:
        model = KillSwitch
        fields = [
            "id",
            "level",
            "mode",
            "account",
            "instrument",
            "algo_id",
            "reason",
            "tripped_by",
            "tripped_at",
            "reset_by",
            "reset_at",
            "active",
        ]


class SwitchTripOutput(serializers.Serializer):
    kill_switch = SwitchOutput()
    cancelled_orders = serializers.ListField(
        child=serializers.IntegerField(), help_text="The open orders it cancelled"
    )


class SwitchListTrip(generics.ListAPIView):
    """Kill switches; POST trips one, cancelling the open orders it covers."""

    queryset = KillSwitch.objects.all()
    serializer_class = SwitchOutput
    filter_backends = []

    def get_permissions(self):
        perm = "risk.trip_kill_switch" if self.request.method == "POST" else "risk.view_exposure"
        return [holds(perm)()]

    @extend_schema(
        operation_id="kill_switch_trip",
        request=SwitchInput,
        examples=[
            OpenApiExample(
                "Halt one instrument",
                request_only=True,
                value={"level": "instrument", "tradingsymbol": "SBIN", "reason": "news pending"},
            )
        ],
        responses={201: SwitchTripOutput, **problems("not-found")},
    )
    def post(self, request: Request) -> Response:
        data = SwitchInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        account, instrument = _targets(request, fields)
        switch, cancelled = kill_switch_trip(
            actor=request.user, account=account, instrument=instrument, **fields
        )
        return Response(
            {"kill_switch": SwitchOutput(switch).data, "cancelled_orders": cancelled}, status=201
        )


class SwitchReset(APIView):
    permission_classes = [holds("risk.reset_kill_switch")]

    @extend_schema(
        operation_id="kill_switch_reset",
        request=None,
        responses={200: SwitchOutput, **problems("permission-denied", "conflict")},
    )
    def post(self, request: Request, pk: int) -> Response:
        switch = get_or_404(KillSwitch, f"No kill switch {pk}.", pk=pk)
        switch = kill_switch_reset(switch=switch, actor=request.user)
        return Response(SwitchOutput(switch).data)


class WhatIf(APIView):
    """Run every check an order would face (validation, funds, risk) without placing it."""

    permission_classes = [holds("risk.run_what_if")]

    @extend_schema(
        operation_id="order_what_if",
        request=OrderInput,
        examples=ORDER_EXAMPLES,
        responses={200: OpenApiTypes.OBJECT, **problems("not-found")},
    )
    def post(self, request: Request) -> Response:
        data = OrderInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        account = _account_for(request, fields.pop("account"), acting=False)
        assessment = order_what_if(account=account, request=OrderRequest(**fields))
        return Response(
            {
                "would_accept": not assessment.rejections,
                "rejections": [r.as_dict() for r in assessment.rejections],
                "required_funds": str(assessment.required_funds),
                "market_open": assessment.market_open,
            }
        )


class SizingInput(serializers.Serializer):
    equity = serializers.DecimalField(**MONEY, min_value=Decimal("0.01"))
    risk_pct = serializers.DecimalField(max_digits=5, decimal_places=2, default=Decimal(2))
    entry = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    stop = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    lot_size = serializers.IntegerField(min_value=1, default=1)


class Sizing(APIView):
    """How many shares an entry may carry so that its stop risks ``risk_pct`` % of equity."""

    @extend_schema(
        operation_id="position_size",
        request=SizingInput,
        responses=OpenApiTypes.OBJECT,
        examples=[
            OpenApiExample(
                "Risk 1% of 10 lakh on a long",
                request_only=True,
                value={
                    "equity": "1000000.00",
                    "risk_pct": "1.00",
                    "entry": "1400.00",
                    "stop": "1372.00",
                },
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = SizingInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            quantity = position_size(**data.validated_data)
        except ValueError as exc:
            raise serializers.ValidationError({"stop": [str(exc)]}) from exc
        return Response(
            {"quantity": quantity, **{k: str(v) for k, v in data.validated_data.items()}}
        )


class RiskSnapshotView(APIView):
    """An account's risk now: day P&L (realized, charges, MTM), exposure, limits and breaches."""

    @extend_schema(operation_id="account_risk", responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, code: str) -> Response:
        from risk.monitors import account_snapshot

        return Response(account_snapshot(_account_for(request, code, acting=False)).as_dict())
