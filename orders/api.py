"""Orders API: accounts and funds, orders (place, list, detail, modify, cancel, history),
trades, positions, holdings and the ledger.

A user sees the accounts linked to them (or all, with orders.view_all_accounts) and acts
only on accounts linked to them; a request signed with an API key sees and acts on the key's
account only, and its orders carry the key's algo ID. Views are thin: they validate, call
one service, shape.
"""

from decimal import Decimal

from django.utils import timezone
from django_guid import get_guid
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance.selectors import audit_events
from marketdata.selectors import UnknownInstrument, instrument_get
from ops.netaddr import client_ip
from ops.signing import api_key  # a signed request sees only its key's account
from orders import selectors
from orders.choices import OrderStatus, OrderType, Product, TransactionType, Validity
from orders.conversion import CONVERTIBLE, position_convert
from orders.models import Fill, Holding, LedgerEntry, Order, Position, TradingAccount
from orders.services import (
    order_cancel,
    order_modify,
    order_place,
)
from orders.validation import OrderRequest
from tradingsite.errors import ProblemError, Unprocessable, get_or_404
from tradingsite.permissions import holds
from tradingsite.schema import problems

PAISA = Decimal("0.01")
PRICE_FIELD = {
    "max_digits": 12,
    "decimal_places": 2,
    "min_value": 0,
    "required": False,
    "allow_null": True,
}


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so nobody can set status or algo_id by sending them."""

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {name: ["is not a field you can set"] for name in unknown}
            )
        return attrs


def _account_for(request: Request, code: str, *, acting: bool) -> TradingAccount:
    key = api_key(request)
    if acting and key is not None and key.account.code == code and key.account.linked:
        return key.account  # resolved with the key (ops.signers), no query: id and code only
    account = get_or_404(
        selectors.accounts_for(request.user, api_key(request), acting=acting),
        f"No account {code} that you may {'act on' if acting else 'see'}.",
        code=code,
    )
    if acting and not account.linked:
        raise ProblemError(
            f"You are not linked to account {code}, so you cannot act on it.",
            problem_type="permission-denied",
        )
    return account


def of_account(rows, request: Request):
    """Narrow a list to one account when ``?account=CODE`` is given."""
    code = request.query_params.get("account")
    return rows.filter(account__code=code) if code else rows


def _order_for(request: Request, pk: int) -> Order:
    return get_or_404(
        selectors.orders_for(request.user, api_key(request)),
        f"No order {pk} that you may see.",
        pk=pk,
    )


# --- Accounts ----------------------------------------------------------------------------------


class FundsOutput(serializers.Serializer):
    cash = serializers.DecimalField(max_digits=16, decimal_places=2)
    blocked = serializers.DecimalField(max_digits=16, decimal_places=2)
    margin_used = serializers.DecimalField(max_digits=16, decimal_places=2)
    available = serializers.DecimalField(max_digits=16, decimal_places=2)


class AccountOutput(serializers.ModelSerializer):
    client = serializers.CharField(source="client.name")
    funds = serializers.SerializerMethodField()

    class Meta:
        model = TradingAccount
        fields = ["code", "client", "status", "brokerage_plan", "broker", "funds"]

    @extend_schema(responses=FundsOutput)
    def get_funds(self, account: TradingAccount) -> dict:
        return FundsOutput(selectors.funds_of(account, on=timezone.localdate())).data


class AccountList(generics.ListAPIView):
    serializer_class = AccountOutput
    filter_backends = []

    def get_queryset(self):
        return selectors.accounts_for(self.request.user, api_key(self.request)).order_by("code")


class AccountDetail(APIView):
    @extend_schema(operation_id="account_detail", responses=AccountOutput)
    def get(self, request: Request, code: str) -> Response:
        return Response(AccountOutput(_account_for(request, code, acting=False)).data)


class LedgerOutput(serializers.ModelSerializer):
    class Meta:
        model = LedgerEntry
        fields = ["id", "kind", "amount", "order", "fill", "memo", "posted_by", "posted_at"]


class AccountLedger(generics.ListAPIView):
    """The account's cash ledger, newest first; its sum is the account's cash."""

    serializer_class = LedgerOutput
    filter_backends = []

    def get_queryset(self):
        account = _account_for(self.request, self.kwargs["code"], acting=False)
        return LedgerEntry.objects.filter(account=account).order_by("-posted_at", "-id")


# --- Orders ------------------------------------------------------------------------------------


class OrderInput(StrictSerializer):
    account = serializers.CharField(max_length=16)
    exchange = serializers.ChoiceField(choices=["NSE", "BSE"], default="NSE")
    tradingsymbol = serializers.CharField(max_length=20)
    transaction_type = serializers.ChoiceField(choices=TransactionType.choices)
    order_type = serializers.ChoiceField(choices=OrderType.choices)
    product = serializers.ChoiceField(choices=Product.choices)
    validity = serializers.ChoiceField(choices=Validity.choices, default=Validity.DAY)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000_000)
    price = serializers.DecimalField(**PRICE_FIELD)
    trigger_price = serializers.DecimalField(**PRICE_FIELD)
    tag = serializers.CharField(max_length=20, required=False, default="", allow_blank=True)
    client_order_id = serializers.RegexField(
        r"^[A-Za-z0-9_.:-]{1,64}$", required=False, allow_null=True
    )


class RequestedChangeOutput(serializers.Serializer):
    quantity = serializers.IntegerField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    trigger_price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)


class OrderOutput(serializers.ModelSerializer):
    order_id = serializers.IntegerField(source="pk")
    account = serializers.CharField(source="account.code")
    pending_quantity = serializers.IntegerField()
    requested_change = serializers.SerializerMethodField(
        help_text="While MODIFY_PENDING, the change sent to the broker and not yet answered"
    )

    class Meta:
        model = Order
        fields = [
            "order_id",
            "account",
            "exchange",
            "tradingsymbol",
            "transaction_type",
            "order_type",
            "product",
            "validity",
            "quantity",
            "price",
            "trigger_price",
            "tag",
            "client_order_id",
            "algo_id",
            "status",
            "filled_quantity",
            "pending_quantity",
            "average_price",
            "rejection_reasons",
            "broker_order_id",
            "blocked_amount",
            "requested_change",
            "session_date",
            "created_at",
            "updated_at",
        ]

    @extend_schema(responses=RequestedChangeOutput(allow_null=True))
    def get_requested_change(self, order: Order) -> dict | None:
        if order.status != OrderStatus.MODIFY_PENDING:
            return None
        return RequestedChangeOutput(order.pending_change).data


ORDER_EXAMPLES = [
    OpenApiExample(
        "Market buy for delivery",
        request_only=True,
        value={
            "account": "TS0001", "tradingsymbol": "INFY", "transaction_type": "BUY",
            "order_type": "MARKET", "product": "CNC", "quantity": 5,
        },
    ),
    OpenApiExample(
        "Intraday limit sell",
        request_only=True,
        value={
            "account": "TS0001", "tradingsymbol": "TCS", "transaction_type": "SELL",
            "order_type": "LIMIT", "product": "MIS", "quantity": 2, "price": "3400.00",
            "client_order_id": "desk-42",
        },
    ),
    OpenApiExample(
        "Stop-loss buy",
        request_only=True,
        value={
            "account": "TS0001", "tradingsymbol": "INFY", "transaction_type": "BUY",
            "order_type": "SL", "product": "CNC", "quantity": 1, "price": "1450.00",
            "trigger_price": "1445.00",
        },
    ),
]  # fmt: skip


def _source_ip(request: Request) -> str | None:
    return client_ip(request._request) or None


class OrderListCreate(generics.ListAPIView):
    """List the orders you may see, or place one. Rejected orders answer 422 with every reason."""

    queryset = Order.objects.none()  # for the schema; get_queryset scopes to the user
    serializer_class = OrderOutput
    filterset_fields = ["status", "product", "transaction_type", "tradingsymbol", "session_date"]
    ordering_fields = ["created_at"]

    def get_permissions(self):
        if self.request.method == "POST":
            return [holds("orders.place_order")()]
        return super().get_permissions()

    def get_queryset(self):
        orders = selectors.orders_for(self.request.user, api_key(self.request))
        return of_account(orders, self.request)

    @extend_schema(
        operation_id="order_place",
        request=OrderInput,
        examples=ORDER_EXAMPLES,
        responses={
            200: OrderOutput,
            201: OrderOutput,
            **problems(
                "not-found",
                "permission-denied",
                "account-busy",
                "order-rejected",
                "idempotency-mismatch",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = OrderInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        account = _account_for(request, fields.pop("account"), acting=True)
        key = api_key(request)
        result = order_place(
            account=account,
            request=OrderRequest(**fields, algo_id=key.algo_id if key else ""),
            actor=request.user,
            source_ip=_source_ip(request),
            request_id=get_guid() or "",
        )
        order = result.order
        if order.status == "REJECTED":
            raise Unprocessable(
                "The order was rejected: "
                + " ".join(r["message"] for r in order.rejection_reasons),
                problem_type="order-rejected",
                extra={"order_id": order.pk, "rejections": order.rejection_reasons},
            )
        return Response(
            OrderOutput(order).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class OrderModifyInput(StrictSerializer):
    quantity = serializers.IntegerField(min_value=1, max_value=10_000_000, required=False)
    price = serializers.DecimalField(**PRICE_FIELD)
    trigger_price = serializers.DecimalField(**PRICE_FIELD)


class OrderDetail(APIView):
    """One order; PATCH modifies it, DELETE cancels its unfilled rest."""

    @extend_schema(operation_id="order_detail", responses=OrderOutput)
    def get(self, request: Request, pk: int) -> Response:
        return Response(OrderOutput(_order_for(request, pk)).data)

    @extend_schema(
        operation_id="order_modify",
        description=(
            "Changes the quantity, price or trigger. The checks of placement run now and refuse "
            "as they would (400, 422). An order the broker has not received yet changes at once. "
            "One at the broker answers 200 with the order MODIFY_PENDING and the change in "
            "`requested_change`, funds blocked at the larger of the old and the new requirement; "
            "once the broker answers, the order takes the change (or keeps its old terms, if the "
            "broker refused it) and goes back to its working status. A second change while one "
            "is pending is a 409 `order-not-working`."
        ),
        request=OrderModifyInput,
        responses={
            200: OrderOutput,
            **problems("permission-denied", "order-not-working", "order-rejected", "account-busy"),
        },
    )
    def patch(self, request: Request, pk: int) -> Response:
        if not request.user.has_perm("orders.modify_order"):
            raise ProblemError(
                "This needs the orders.modify_order permission.", problem_type="permission-denied"
            )
        order = _order_for(request, pk)
        _account_for(request, order.account.code, acting=True)
        data = OrderModifyInput(data=request.data)
        data.is_valid(raise_exception=True)
        order = order_modify(order=order, actor=request.user, **data.validated_data)
        return Response(OrderOutput(order).data)

    @extend_schema(
        operation_id="order_cancel",
        description=(
            "Cancels the unfilled rest of the order. An order the broker has not received yet is "
            "CANCELLED at once, its funds released. One at the broker answers 200 with the order "
            "CANCEL_PENDING, funds still blocked; it becomes CANCELLED once the broker confirms, "
            "or goes back to its working status if the broker answers too late (a fill that came "
            "meanwhile is applied; a filled order is COMPLETE). Cancelling it again meanwhile "
            "answers the same."
        ),
        responses={
            200: OrderOutput,
            **problems("permission-denied", "order-not-working", "account-busy"),
        },
    )
    def delete(self, request: Request, pk: int) -> Response:
        order = _order_for(request, pk)
        may_cancel_any = request.user.has_perm("orders.cancel_any_order")
        if not may_cancel_any:
            if not request.user.has_perm("orders.cancel_order"):
                raise ProblemError(
                    "This needs the orders.cancel_order permission.",
                    problem_type="permission-denied",
                )
            _account_for(request, order.account.code, acting=True)
        order = order_cancel(order=order, actor=request.user)
        return Response(OrderOutput(order).data)


class HistoryOutput(serializers.Serializer):
    seq = serializers.IntegerField()
    occurred_at = serializers.DateTimeField()
    action = serializers.CharField()
    actor_username = serializers.CharField()
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)


class OrderHistory(APIView):
    """Every state change of the order, from the audit trail."""

    @extend_schema(operation_id="order_history", responses=HistoryOutput(many=True))
    def get(self, request: Request, pk: int) -> Response:
        order = _order_for(request, pk)
        events = audit_events(object_type="orders.order", object_id=str(order.pk)).order_by("id")
        return Response(HistoryOutput(events, many=True).data)


# --- Trades, positions, holdings -------------------------------------------------------------


class FillOutput(serializers.ModelSerializer):
    order_id = serializers.IntegerField(source="order.pk")
    account = serializers.CharField(source="account.code")
    tradingsymbol = serializers.CharField(source="order.tradingsymbol")
    transaction_type = serializers.CharField(source="order.transaction_type")
    product = serializers.CharField(source="order.product")

    class Meta:
        model = Fill
        fields = [
            "id",
            "order_id",
            "account",
            "tradingsymbol",
            "transaction_type",
            "product",
            "broker_fill_id",
            "quantity",
            "price",
            "charges",
            "charges_total",
            "trade_date",
            "filled_at",
        ]


class TradeList(generics.ListAPIView):
    """Fills, with their charge breakdown (a contract note's lines)."""

    queryset = Fill.objects.none()  # for the schema; get_queryset scopes to the user
    serializer_class = FillOutput
    filterset_fields = ["trade_date", "order"]

    def get_queryset(self):
        fills = selectors.fills_for(self.request.user, api_key(self.request)).order_by(
            "-filled_at", "-id"
        )
        return of_account(fills, self.request)


class PositionOutput(serializers.ModelSerializer):
    account = serializers.CharField(source="account.code")
    instrument = serializers.CharField(source="instrument.key")
    last_price = serializers.SerializerMethodField()
    realized_pnl = serializers.DecimalField(
        max_digits=16, decimal_places=2, read_only=True, help_text="Realized P&L, gross of charges"
    )
    charges = serializers.DecimalField(
        max_digits=16,
        decimal_places=2,
        read_only=True,
        help_text="Brokerage, STT, exchange charges, SEBI fee, stamp duty and GST of its fills",
    )
    realized_pnl_net = serializers.SerializerMethodField(help_text="Realized P&L less charges")
    unrealized_pnl = serializers.SerializerMethodField(help_text="At the last price")
    pnl = serializers.SerializerMethodField(help_text="Realized + unrealized, gross of charges")
    pnl_net = serializers.SerializerMethodField(help_text="Realized + unrealized, less charges")

    class Meta:
        model = Position
        fields = [
            "account",
            "instrument",
            "product",
            "quantity",
            "average_price",
            "last_price",
            "realized_pnl",
            "charges",
            "realized_pnl_net",
            "unrealized_pnl",
            "pnl",
            "pnl_net",
            "day_buy_quantity",
            "day_sell_quantity",
        ]

    def _ltp(self, position):
        return self.context["prices"].get(position.instrument.key)

    def get_last_price(self, position) -> str | None:
        ltp = self._ltp(position)
        return str(ltp) if ltp is not None else None

    def _unrealized(self, position) -> Decimal:
        ltp = self._ltp(position)
        if ltp is None or not position.quantity:
            return Decimal("0.00")
        return ((ltp - position.average_price) * position.quantity).quantize(PAISA)

    def get_unrealized_pnl(self, position) -> str:
        return str(self._unrealized(position))

    def get_realized_pnl_net(self, position) -> str:
        return str(position.realized_pnl - position.charges)

    def get_pnl(self, position) -> str:
        return str(position.realized_pnl + self._unrealized(position))

    def get_pnl_net(self, position) -> str:
        return str(position.realized_pnl - position.charges + self._unrealized(position))


def _prices(rows) -> dict:
    from marketdata.pricecache import quote_get_many

    keys = sorted({row.instrument.key for row in rows})
    return {k: q.last_price for k, q in quote_get_many(keys).items()} if keys else {}


class PositionList(generics.ListAPIView):
    """Positions with average cost, realized P&L and unrealized P&L at the last price."""

    serializer_class = PositionOutput
    pagination_class = None
    filter_backends = []

    @extend_schema(parameters=[OpenApiParameter("account", str)])
    def get(self, request, *args, **kwargs):
        rows = list(self.get_queryset())
        return Response(PositionOutput(rows, many=True, context={"prices": _prices(rows)}).data)

    def get_queryset(self):
        positions = selectors.positions_for(self.request.user, api_key(self.request)).exclude(
            quantity=0, realized_pnl=0
        )
        return of_account(positions, self.request)


class PositionConvertInput(StrictSerializer):
    account = serializers.CharField(max_length=32)
    instrument = serializers.CharField(max_length=40, help_text="e.g. NSE:INFY")
    from_product = serializers.ChoiceField(choices=CONVERTIBLE)
    to_product = serializers.ChoiceField(choices=CONVERTIBLE)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000_000)


class PositionConvert(APIView):
    """Convert shares of today's position between MIS and CNC (no order is sent): the
    money moves as if traded in the new product at the position's average price."""

    def get_permissions(self):
        return [holds("orders.place_order")()]

    @extend_schema(
        operation_id="position_convert",
        request=PositionConvertInput,
        responses={
            200: PositionOutput(many=True),
            **problems("not-found", "permission-denied", "conversion-refused", "account-busy"),
        },
    )
    def post(self, request: Request) -> Response:
        data = PositionConvertInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        account = _account_for(request, fields.pop("account"), acting=True)
        try:
            instrument = instrument_get(fields.pop("instrument"))
        except UnknownInstrument as exc:
            raise ProblemError(
                str(exc), problem_type="validation-error", errors={"instrument": [str(exc)]}
            ) from exc
        done = position_convert(account=account, instrument=instrument, actor=request.user,
                                **fields)  # fmt: skip
        rows = [done.source, done.target]
        return Response(PositionOutput(rows, many=True, context={"prices": _prices(rows)}).data)


class HoldingOutput(serializers.ModelSerializer):
    account = serializers.CharField(source="account.code")
    instrument = serializers.CharField(source="instrument.key")

    class Meta:
        model = Holding
        fields = ["account", "instrument", "quantity", "average_price", "updated_at"]


class HoldingList(generics.ListAPIView):
    serializer_class = HoldingOutput
    pagination_class = None
    filter_backends = []

    def get_queryset(self):
        holdings = selectors.holdings_for(self.request.user, api_key(self.request)).exclude(
            quantity=0
        )
        return of_account(holdings, self.request)
