"""Positions and holdings: the chosen account's, with live P&L drawn by the page's script
from the positions and quotes APIs; *Exit* squares a position off with a market order
through the order path (so every risk check applies); *To CNC* / *To MIS* converts shares
of today's position between intraday and delivery (``orders.conversion``)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_guid import get_guid

from marketdata import calendar
from orders.conversion import position_convert
from orders.selectors import day_trades, holdings_for, intraday_pnl, positions_for
from orders.services import order_place
from orders.validation import OrderRequest
from tradingsite.errors import DomainError
from web.selectors import account_chosen, shell_of
from web.ticket import PLACE_PERMISSION
from web.views import page, signed_in

CONVERT_TO = {"MIS": "CNC", "CNC": "MIS"}


@signed_in
def positions(request: HttpRequest) -> HttpResponse:
    shell = shell_of(request.user, request.session)
    account, rows, held, today = shell["account"], [], [], []
    if account is not None:
        today = day_trades(account=account, day=timezone.localdate(timezone.now(), calendar.IST))
        rows = list(
            positions_for(request.user).filter(account=account).select_related("instrument")
            .exclude(quantity=0, realized_pnl=0)  # as the positions API leaves them out
            .order_by("instrument__tradingsymbol", "product")
        )  # fmt: skip
        for row in rows:
            row.shares, row.convert_to = abs(row.quantity), CONVERT_TO.get(row.product)
        held = list(
            holdings_for(request.user).filter(account=account).exclude(quantity=0)
            .select_related("instrument").order_by("instrument__tradingsymbol")
        )  # fmt: skip
    return page(
        request, "web/positions.html", shell=shell, positions=rows, holdings=held, day=today,
        nav="positions",
    )  # fmt: skip


@signed_in
def pnl_curve(request: HttpRequest) -> JsonResponse:
    """Today's P&L of the chosen account's trades at each minute's close, for the chart."""
    account = account_chosen(request.user, request.session)
    today = timezone.localdate(timezone.now(), calendar.IST)
    points = intraday_pnl(account=account, day=today) if account else []
    return JsonResponse({
        "day": today.isoformat(),
        "points": [
            {"time": timezone.localtime(p.at, calendar.IST).isoformat(), "gross": str(p.gross),
             "net": str(p.net)}
            for p in points
        ],
    })  # fmt: skip


def _open_position(request: HttpRequest, pk: int, action: str):
    """The chosen account's open position ``pk`` that the user may act on, or a message
    saying why not (and None)."""
    account = account_chosen(request.user, request.session)
    position = (
        positions_for(request.user).filter(pk=pk, account=account).select_related("instrument")
        .first() if account else None
    )  # fmt: skip
    if position is None or position.quantity == 0:
        messages.error(request, f"There is no open position to {action}.")
        return None
    if not request.user.has_perm(PLACE_PERMISSION):
        messages.error(request, "Your role may not place orders.")
        return None
    return position


@signed_in
@require_POST
def position_convert_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Convert shares of one position to the other product (MIS ↔ CNC)."""
    back = HttpResponseRedirect(reverse("web:positions"))
    position = _open_position(request, pk, "convert")
    if position is None:
        return back
    to = CONVERT_TO.get(position.product)
    symbol = position.instrument.tradingsymbol
    try:
        quantity = int(request.POST.get("quantity", ""))
    except ValueError:
        messages.error(request, f"Give the number of {symbol} shares to convert.")
        return back
    try:
        position_convert(
            account=position.account, instrument=position.instrument,
            from_product=position.product, to_product=to or "", quantity=quantity,
            actor=request.user,
        )  # fmt: skip
    except DomainError as refused:
        messages.error(request, f"Not converted: {refused}")
        return back
    messages.success(request, f"Converted {quantity} {symbol} from {position.product} to {to}.")
    return back


@signed_in
@require_POST
def position_exit(request: HttpRequest, pk: int) -> HttpResponse:
    """Square off one open position of the chosen account: a MARKET order of its quantity,
    the other way, in its product."""
    back = HttpResponseRedirect(reverse("web:positions"))
    position = _open_position(request, pk, "exit")
    if position is None:
        return back
    account, instrument = position.account, position.instrument
    order_request = OrderRequest(
        exchange=instrument.exchange, tradingsymbol=instrument.tradingsymbol,
        transaction_type="SELL" if position.quantity > 0 else "BUY", order_type="MARKET",
        product=position.product, quantity=abs(position.quantity), tag="web-exit",
    )  # fmt: skip
    try:
        order = order_place(
            account=account, request=order_request, actor=request.user,
            source_ip=request.META.get("REMOTE_ADDR"), request_id=get_guid() or "",
        ).order  # fmt: skip
    except DomainError as refused:
        messages.error(request, f"The exit was not placed: {refused}")
        return back
    if order.status == "REJECTED":
        reasons = "; ".join(r["message"] for r in order.rejection_reasons)
        messages.error(request, f"The exit (order {order.pk}) was rejected: {reasons}")
        return back
    messages.success(
        request, f"Exit order {order.pk}: {order.transaction_type} {order.quantity} "
        f"{order.tradingsymbol} at market, {order.get_status_display().lower()}.",
    )  # fmt: skip
    return back
