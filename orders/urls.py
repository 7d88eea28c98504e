"""Order-management endpoints, mounted under /api/v1/."""

from django.urls import path

from orders import api

urlpatterns = [
    path("accounts", api.AccountList.as_view(), name="accounts"),
    path("accounts/<str:code>", api.AccountDetail.as_view(), name="account"),
    path("accounts/<str:code>/ledger", api.AccountLedger.as_view(), name="account-ledger"),
    path("orders", api.OrderListCreate.as_view(), name="orders"),
    path("orders/<int:pk>", api.OrderDetail.as_view(), name="order"),
    path("orders/<int:pk>/history", api.OrderHistory.as_view(), name="order-history"),
    path("trades", api.TradeList.as_view(), name="trades"),
    path("positions", api.PositionList.as_view(), name="positions"),
    path("positions/convert", api.PositionConvert.as_view(), name="position-convert"),
    path("holdings", api.HoldingList.as_view(), name="holdings"),
]
