"""The order ticket and the order book: thin views over ``orders.services`` (placement, the
what-if, cancel, modify) and ``orders.selectors``. Every refusal is shown as the order path
words it (each rejection with the limit that refused it); nothing is placed by a preview."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_guid import get_guid

from compliance.actions import action_label
from compliance.selectors import audit_events
from marketdata import calendar
from marketdata.pricecache import quote_get
from marketdata.selectors import UnknownInstrument, instrument_get
from orders.choices import WORKING
from orders.selectors import charges_estimate, orders_for
from orders.services import order_cancel, order_modify, order_place, order_what_if
from orders.validation import OrderRequest
from tradingsite.errors import DomainError
from web.selectors import account_chosen, shell_of
from web.views import page, signed_in

PLACE_PERMISSION = "orders.place_order"
BOOK_SHOWN = 100
PRICE = {"max_digits": 12, "decimal_places": 2, "required": False, "min_value": Decimal("0.01")}


class TicketForm(forms.Form):
    """An order as a trader writes it; the order path checks it all again."""

    key = forms.CharField(max_length=40, label="Instrument")
    transaction_type = forms.ChoiceField(
        choices=[("BUY", "Buy"), ("SELL", "Sell")], widget=forms.RadioSelect, label="Side"
    )
    order_type = forms.ChoiceField(
        choices=[("MARKET", "Market"), ("LIMIT", "Limit"), ("SL", "Stop-loss limit (SL)"),
                 ("SL-M", "Stop-loss market (SL-M)")], label="Type",
    )  # fmt: skip
    product = forms.ChoiceField(
        choices=[("CNC", "CNC (delivery)"), ("MIS", "MIS (intraday)")], initial="CNC"
    )
    validity = forms.ChoiceField(choices=[("DAY", "Day"), ("IOC", "Immediate or cancel")])
    quantity = forms.IntegerField(min_value=1, max_value=10_000_000, initial=1)
    price = forms.DecimalField(**PRICE, help_text="Limit and SL orders")
    trigger_price = forms.DecimalField(**PRICE, help_text="SL and SL-M orders")

    def clean_key(self) -> str:
        key = self.cleaned_data["key"].strip().upper()
        key = key if ":" in key else f"NSE:{key}"
        try:
            self.instrument = instrument_get(key)
        except UnknownInstrument:
            raise forms.ValidationError(f"There is no instrument {key}.") from None
        return key

    def order_request(self) -> OrderRequest:
        data = self.cleaned_data
        return OrderRequest(
            exchange=self.instrument.exchange, tradingsymbol=self.instrument.tradingsymbol,
            transaction_type=data["transaction_type"], order_type=data["order_type"],
            product=data["product"], validity=data["validity"], quantity=data["quantity"],
            price=data.get("price"), trigger_price=data.get("trigger_price"), tag="web",
        )  # fmt: skip


def _preview(account, request: OrderRequest) -> dict:
    """What placing would decide now (``order_what_if``: nothing written), with the charges
    the order would pay filled whole at its price (the last price for a market order)."""
    assessment = order_what_if(account=account, request=request)
    price = request.price or quote_get(request.key).last_price
    today = timezone.localdate(timezone.now(), calendar.IST)
    return {
        "assessment": assessment,
        "charges": charges_estimate(account=account, request=request, price=price, on=today),
        "at_price": price,
    }


@signed_in
def ticket(request: HttpRequest) -> HttpResponse:
    """GET: the ticket for ``?key=&side=``. POST ``action=preview``: the what-if and the
    charges, nothing placed; ``action=place``: the order, to the book (or its rejection)."""
    account = account_chosen(request.user, request.session)
    initial = {
        "key": request.GET.get("key", ""),
        "transaction_type": request.GET.get("side", "BUY"),
    }
    form = TicketForm(request.POST or None, initial=initial)
    context: dict = {"form": form, "nav": "orders"}
    if request.method == "POST" and form.is_valid():
        if account is None:
            form.add_error(None, "No trading account is linked to you: you cannot place orders.")
        elif not request.user.has_perm(PLACE_PERMISSION):
            form.add_error(None, "Your role may not place orders.")
        else:
            done = _act(request, form, account, context)
            if done is not None:
                return done
    context["quote"] = _quote(form)
    return page(request, "web/ticket.html", **context)


def _act(request, form: TicketForm, account, context: dict) -> HttpResponse | None:
    order_request = form.order_request()
    try:
        if request.POST.get("action") == "preview":
            context["preview"] = _preview(account, order_request)
            return None
        result = order_place(
            account=account, request=order_request, actor=request.user,
            source_ip=request.META.get("REMOTE_ADDR"), request_id=get_guid() or "",
        )  # fmt: skip
    except DomainError as refused:
        for field, said in (getattr(refused, "errors", None) or {"": [str(refused)]}).items():
            form.add_error(field if field in form.fields else None, said)
        return None
    order = result.order
    if order.status == "REJECTED":
        context["rejected"] = order
        return None
    messages.success(
        request, f"Order {order.pk}: {order.transaction_type} {order.quantity} "
        f"{order.tradingsymbol} {order.order_type}, {order.get_status_display().lower()}.",
    )  # fmt: skip
    return HttpResponseRedirect(reverse("web:orders"))


def _quote(form: TicketForm):
    key = (form.data.get("key") or form.initial.get("key") or "").strip().upper()
    if not key:
        return None
    try:
        return quote_get(key if ":" in key else f"NSE:{key}")
    except (UnknownInstrument, KeyError, ValueError):
        return None


@signed_in
def order_book(request: HttpRequest) -> HttpResponse:
    """The chosen account's orders, newest first: working ones with cancel and modify."""
    shell = shell_of(request.user, request.session)
    account, orders = shell["account"], []
    if account is not None:
        orders = list(
            orders_for(request.user).filter(account=account).order_by("-created_at")[:BOOK_SHOWN]
        )
    return page(
        request, "web/orders.html", shell=shell, orders=orders, working=WORKING, nav="orders"
    )


def _own_order(request: HttpRequest, pk: int):
    account = account_chosen(request.user, request.session)
    order = orders_for(request.user).filter(pk=pk, account=account).first() if account else None
    if order is None:
        raise Http404(f"You have no order {pk} on this account.")
    return order


@signed_in
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One order: its terms, its history from the audit trail (the order's own events only)
    and its fills with each one's charges."""
    order = _own_order(request, pk)
    history = [
        (event, action_label(event.action))
        for event in audit_events(object_type="orders.order", object_id=str(order.pk)).filter(
            action__startswith="order."
        ).order_by("id")
    ]  # fmt: skip
    fills = list(order.fills.order_by("filled_at", "pk"))
    return page(
        request,
        "web/order.html",
        order=order,
        history=history,
        fills=fills,
        working=WORKING,
        nav="orders",
        charge_names=CHARGE_NAMES,
    )


#: A fill's charges, in the order a contract note lists them.
CHARGE_NAMES = [
    ("brokerage", "Brokerage"), ("stt", "STT"), ("exchange_transaction", "Exchange"),
    ("sebi_fee", "SEBI fee"), ("stamp_duty", "Stamp duty"), ("gst", "GST"),
]  # fmt: skip


@signed_in
@require_POST
def order_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    order = _own_order(request, pk)
    try:
        order = order_cancel(order=order, actor=request.user)
        messages.success(request, f"Order {order.pk}: {order.get_status_display().lower()}.")
    except DomainError as refused:
        messages.error(request, f"Order {order.pk} was not cancelled: {refused}")
    return HttpResponseRedirect(reverse("web:orders"))


@signed_in
@require_POST
def order_modify_view(request: HttpRequest, pk: int) -> HttpResponse:
    order = _own_order(request, pk)
    change = {}
    try:
        for name, cast in (("quantity", int), ("price", Decimal), ("trigger_price", Decimal)):
            raw = request.POST.get(name, "").strip()
            if raw:
                change[name] = cast(raw)
    except (ValueError, ArithmeticError):
        messages.error(request, f"Order {order.pk} was not changed: {name} is not a number.")
        return HttpResponseRedirect(reverse("web:orders"))
    try:
        order = order_modify(order=order, actor=request.user, **change)
        messages.success(
            request, f"Order {order.pk}: changed, {order.get_status_display().lower()}."
        )
    except DomainError as refused:
        messages.error(request, f"Order {order.pk} was not changed: {refused}")
    return HttpResponseRedirect(reverse("web:orders"))
