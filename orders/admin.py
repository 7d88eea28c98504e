"""Admin of the orders app: accounts, and read-only orders, fills, ledger (and what archives
carried forward of it), positions, holdings.

Nothing here writes trading records directly: the one action, cancelling orders, goes
through ``order_cancel`` like every other cancellation (an order at the broker is
cancelled once the broker confirms).
"""

from django.contrib import admin, messages

from orders.choices import OrderStatus
from orders.models import (
    Fill,
    Holding,
    LedgerCarryForward,
    LedgerEntry,
    Order,
    Position,
    TradingAccount,
)
from orders.services import IllegalTransition, order_cancel
from tradingsite.admin import ReadOnlyAdmin


@admin.register(TradingAccount)
class TradingAccountAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "client",
        "kind",
        "status",
        "brokerage_plan",
        "broker",
        "cash_balance",
        "blocked",
    ]
    list_filter = ["status", "kind", "brokerage_plan", "broker"]
    search_fields = ["code", "client__name", "client__pan"]
    filter_horizontal = ["users"]
    readonly_fields = ["cash_balance", "blocked", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        # An account keeps its code and its client for life; money moves only by the ledger.
        fixed = ["code", "client"] if obj is not None else []
        return [*fixed, *self.readonly_fields]


@admin.action(description="Cancel the selected working orders", permissions=["cancel"])
def cancel_orders(modeladmin, request, queryset) -> None:
    cancelled, sent, refused = 0, 0, []
    for order in queryset:
        try:
            order = order_cancel(order=order, actor=request.user, reason="cancelled in the admin")
        except IllegalTransition as exc:
            refused.append(str(exc))
            continue
        if order.status == OrderStatus.CANCEL_PENDING:
            sent += 1
        else:
            cancelled += 1
    if cancelled:
        modeladmin.message_user(request, f"Cancelled {cancelled} order(s).", messages.SUCCESS)
    if sent:  # at the broker: cancelled once it confirms
        modeladmin.message_user(
            request, f"Cancel sent to the broker for {sent} order(s).", messages.SUCCESS
        )
    for reason in refused:
        modeladmin.message_user(request, reason, messages.WARNING)


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "account",
        "tradingsymbol",
        "transaction_type",
        "order_type",
        "product",
        "quantity",
        "price",
        "status",
        "filled_quantity",
        "average_price",
        "created_at",
    ]
    list_filter = ["status", "product", "order_type", "transaction_type", "session_date"]
    search_fields = ["tradingsymbol", "account__code", "client_order_id", "broker_order_id"]
    actions = [cancel_orders]

    def has_cancel_permission(self, request) -> bool:
        return request.user.has_perm("orders.cancel_any_order")


@admin.register(Fill)
class FillAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "order",
        "account",
        "quantity",
        "price",
        "charges_total",
        "trade_date",
        "filled_at",
    ]
    list_filter = ["trade_date"]
    search_fields = ["order__tradingsymbol", "account__code", "broker_fill_id"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "account", "kind", "amount", "order", "posted_by", "posted_at"]
    list_filter = ["kind"]
    search_fields = ["account__code", "memo"]


@admin.register(LedgerCarryForward)
class LedgerCarryForwardAdmin(ReadOnlyAdmin):
    """What archive releases took out of each account's online ledger (read-only)."""

    list_display = ["account", "amount", "entries", "first_posted_at", "last_posted_at",
                    "archive_run", "created_at"]  # fmt: skip
    search_fields = ["account__code"]


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = [
        "account",
        "instrument",
        "product",
        "quantity",
        "average_price",
        "realized_pnl",
        "charges",
        "realized_pnl_net",
        "updated_at",
    ]
    list_filter = ["product"]
    list_select_related = ["account", "instrument"]

    @admin.display(description="Realized P&L net of charges")
    def realized_pnl_net(self, position: Position):
        return position.realized_pnl - position.charges

    search_fields = ["account__code", "instrument__tradingsymbol"]


@admin.register(Holding)
class HoldingAdmin(ReadOnlyAdmin):
    list_display = ["account", "instrument", "quantity", "average_price", "updated_at"]
    search_fields = ["account__code", "instrument__tradingsymbol"]
