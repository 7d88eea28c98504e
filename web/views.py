"""The web app's pages: thin views over the web app's services and selectors (and, from the
page's script, the quotes API). Every page needs a signed-in user; a refused change is shown
as a message naming the problem, and the page is shown again."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from marketdata.quotes import DEPTH_LEVELS
from marketdata.selectors import instrument_search
from ops.security_headers import clear_site_data
from web import services
from web.forms import TraderLoginForm
from web.selectors import (
    ACCOUNT_SESSION_KEY,
    accounts_linked,
    shell_of,
    watchlist_items,
    watchlist_of,
)
from web.services import WatchlistRefused

SEARCH_SHOWN = 12


def signed_in(view):
    """The view for a signed-in user; others are sent to the web app's sign-in."""
    return login_required(view, login_url="web:login")


def home(request: HttpRequest) -> HttpResponse:
    """``/``: staff to the back office, a signed-in trader to the watch, others to sign in."""
    if not request.user.is_authenticated:
        return redirect("web:login")
    if request.user.is_staff:
        return redirect("admin:index")
    return redirect("web:watch")


class TraderLoginView(LoginView):
    form_class = TraderLoginForm
    template_name = "web/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return reverse("web:watch")


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, "You have signed out.")
    return clear_site_data(HttpResponseRedirect(reverse("web:login")))


def page(request: HttpRequest, template: str, *, shell: dict | None = None, **context):
    """``template`` with the page header's context (``shell``, when the view has it)."""
    shell = shell if shell is not None else shell_of(request.user, request.session)
    return TemplateResponse(request, template, {**shell, **context})


@signed_in
def watch(request: HttpRequest, watchlist_id: int | None = None) -> HttpResponse:
    """A watchlist with live quotes (the page's script polls the quotes API), the user's
    other lists as tabs, and instrument search (``?q=``) to add from."""
    lists = services.watchlists_ensure(user=request.user)
    chosen = lists[0] if watchlist_id is None else next(
        (w for w in lists if w.pk == watchlist_id), None
    )  # fmt: skip
    if chosen is None:
        raise Http404(f"You have no watchlist {watchlist_id}.")
    query = request.GET.get("q", "").strip()[:40]
    found = list(instrument_search(query)[:SEARCH_SHOWN]) if query else []
    items = watchlist_items(chosen)
    return page(
        request, "web/watch.html", watchlists=lists, watchlist=chosen, items=items,
        query=query, found=found, on_list={item.instrument_id for item in items}, nav="watch",
        depth_levels=range(DEPTH_LEVELS),
    )  # fmt: skip


def _acted(view):
    """A POST that changes a watchlist, then back to it (a refusal becomes a message)."""

    @wraps(view)
    def run(request: HttpRequest, watchlist_id: int, **kwargs) -> HttpResponse:
        back = reverse("web:watchlist", args=[watchlist_id])
        try:
            said, back = view(request, watchlist_id, **kwargs) or ("", back)
        except WatchlistRefused as refused:
            messages.error(request, str(refused))
            if watchlist_of(request.user, watchlist_id) is None:
                back = reverse("web:watch")
        else:
            if said:
                messages.success(request, said)
        return HttpResponseRedirect(back)

    return signed_in(require_POST(run))


@_acted
def watch_add(request, watchlist_id):
    item = services.watchlist_add(
        user=request.user, watchlist_id=watchlist_id, key=request.POST.get("key", "")
    )
    return f"{item.instrument.key} added.", reverse("web:watchlist", args=[watchlist_id])


@_acted
def watch_remove(request, watchlist_id):
    services.watchlist_remove(
        user=request.user, watchlist_id=watchlist_id, item_id=_number(request.POST, "item")
    )


@_acted
def watch_move(request, watchlist_id):
    services.watchlist_move(
        user=request.user, watchlist_id=watchlist_id, item_id=_number(request.POST, "item"),
        by=_number(request.POST, "by"),
    )  # fmt: skip


@_acted
def watch_rename(request, watchlist_id):
    services.watchlist_rename(
        user=request.user, watchlist_id=watchlist_id, name=request.POST.get("name", "")
    )
    return "Watchlist renamed.", reverse("web:watchlist", args=[watchlist_id])


@_acted
def watch_delete(request, watchlist_id):
    services.watchlist_delete(user=request.user, watchlist_id=watchlist_id)
    return "Watchlist deleted.", reverse("web:watch")


@signed_in
@require_POST
def watch_create(request: HttpRequest) -> HttpResponse:
    try:
        made = services.watchlist_create(user=request.user, name=request.POST.get("name", ""))
    except WatchlistRefused as refused:
        messages.error(request, str(refused))
        return HttpResponseRedirect(reverse("web:watch"))
    return HttpResponseRedirect(reverse("web:watchlist", args=[made.pk]))


@signed_in
@require_POST
def account_switch(request: HttpRequest) -> HttpResponse:
    """Choose the account the pages show (one of the user's linked accounts)."""
    code = request.POST.get("account", "")
    if any(account.code == code for account in accounts_linked(request.user)):
        request.session[ACCOUNT_SESSION_KEY] = code
    else:
        messages.error(request, f"You have no account {code[:20]!r}.")
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return HttpResponseRedirect(target if safe else reverse("web:watch"))


def _number(data, name: str) -> int:
    try:
        return int(data.get(name, ""))
    except ValueError:
        raise WatchlistRefused(f"{name} is not a number.") from None
