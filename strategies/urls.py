"""Strategies endpoints, mounted under /api/v1/."""

from django.urls import path

from strategies import api

urlpatterns = [
    path("strategies", api.StrategyList.as_view(), name="strategies"),
    path("backtests", api.BacktestRunListCreate.as_view(), name="backtests"),
    path("backtests/<int:id>", api.BacktestRunDetail.as_view(), name="backtest"),
    path("backtests/<int:id>/equity", api.BacktestRunEquity.as_view(), name="backtest-equity"),
    path("walkforwards", api.WalkForwardCreate.as_view(), name="walkforwards"),
]
