"""Reads of the web app: a user's watchlist with its instruments, and what the page header
shows (the accounts the user may switch between, the chosen one's funds, the market's
status)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from marketdata import calendar
from orders.models import TradingAccount
from orders.selectors import accounts_for, funds_of
from web.models import Watchlist, WatchlistItem

ACCOUNT_SESSION_KEY = "web_account"


def watchlist_of(user, watchlist_id: int) -> Watchlist | None:
    """``user``'s watchlist ``watchlist_id``; None for another's or none."""
    return Watchlist.objects.filter(pk=watchlist_id, user=user).first()


def watchlist_items(watchlist: Watchlist) -> list[WatchlistItem]:
    return list(watchlist.items.select_related("instrument").order_by("position", "pk"))


def accounts_linked(user) -> list[TradingAccount]:
    """The accounts ``user`` trades on (linked to them), by code."""
    return list(accounts_for(user).filter(users=user).order_by("code"))


def account_chosen(user, session, accounts=None) -> TradingAccount | None:
    """The account chosen in this session if it is still one of ``user``'s (``accounts``,
    when the caller has read them), else their first."""
    accounts = accounts_linked(user) if accounts is None else accounts
    code = session.get(ACCOUNT_SESSION_KEY)
    return next((a for a in accounts if a.code == code), accounts[0] if accounts else None)


def shell_of(user, session) -> dict[str, Any]:
    """The header: accounts, the chosen one and its funds, and the market's status."""
    accounts = accounts_linked(user)
    chosen = account_chosen(user, session, accounts)
    today = timezone.localdate(timezone.now(), calendar.IST)
    return {
        "accounts": accounts,
        "account": chosen,
        "funds": funds_of(chosen, on=today) if chosen else None,
        "market": calendar.market_status(),
    }
