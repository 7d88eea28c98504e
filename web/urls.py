"""The web app's pages, at the site's root."""

from django.urls import path

from web import charts, funds, positions, strategies, ticket, views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.TraderLoginView.as_view(), name="login"),
    path("logout/", views.sign_out, name="logout"),
    path("account/", views.account_switch, name="account"),
    path("watch/", views.watch, name="watch"),
    path("watch/new", views.watch_create, name="watch-create"),
    path("watch/<int:watchlist_id>/", views.watch, name="watchlist"),
    path("watch/<int:watchlist_id>/add", views.watch_add, name="watch-add"),
    path("watch/<int:watchlist_id>/remove", views.watch_remove, name="watch-remove"),
    path("watch/<int:watchlist_id>/move", views.watch_move, name="watch-move"),
    path("watch/<int:watchlist_id>/rename", views.watch_rename, name="watch-rename"),
    path("watch/<int:watchlist_id>/delete", views.watch_delete, name="watch-delete"),
    path("ticket/", ticket.ticket, name="ticket"),
    path("orders/", ticket.order_book, name="orders"),
    path("orders/<int:pk>/", ticket.order_detail, name="order"),
    path("orders/<int:pk>/cancel", ticket.order_cancel_view, name="order-cancel"),
    path("orders/<int:pk>/modify", ticket.order_modify_view, name="order-modify"),
    path("chart/<str:key>/", charts.chart, name="chart"),
    path("funds/", funds.funds, name="funds"),
    path("funds/statements", funds.statement_request, name="statement-request"),
    path("positions/", positions.positions, name="positions"),
    path("positions/pnl", positions.pnl_curve, name="pnl-curve"),
    path("strategies/", strategies.strategies, name="strategies"),
    path("strategies/backtests/<int:pk>/", strategies.backtest, name="backtest"),
    path(
        "strategies/deployments/<int:pk>/<slug:move>",
        strategies.deployment_move,
        name="deployment-move",
    ),
    path("positions/<int:pk>/exit", positions.position_exit, name="position-exit"),
    path("positions/<int:pk>/convert", positions.position_convert_view, name="position-convert"),
]
