"""Writes of the web app: a user's watchlists (create, rename, delete) and their instruments
(add, remove, move). Each refuses, naming the problem, a list that is not the user's, a
name taken or blank, an instrument unknown or already on the list, and a list or user at
its limit; nothing is half-done. The list's row is locked (alone) while its items change,
so two tabs adding at once cannot pass the limit or share a position.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Max

from marketdata.selectors import UnknownInstrument, instrument_get
from tradingsite.errors import DomainError
from web.models import MAX_ITEMS, MAX_WATCHLISTS, Watchlist, WatchlistItem


class WatchlistRefused(DomainError):
    """A watchlist change refused; the message names why."""

    problem_type = "validation-error"


def _name_checked(name: str) -> str:
    name = " ".join(str(name or "").split())
    if not name:
        raise WatchlistRefused("Give the watchlist a name.")
    if len(name) > 40:
        raise WatchlistRefused(f"A watchlist's name is at most 40 characters ({len(name)} given).")
    return name


def _locked(user, watchlist_id: int) -> Watchlist:
    found = Watchlist.objects.select_for_update(of=("self",)).filter(pk=watchlist_id, user=user)
    watchlist = found.first()
    if watchlist is None:
        raise WatchlistRefused(f"You have no watchlist {watchlist_id}.")
    return watchlist


def watchlist_create(*, user, name: str) -> Watchlist:
    """A new list at the end of ``user``'s (at most :data:`MAX_WATCHLISTS`)."""
    name = _name_checked(name)
    with transaction.atomic():
        # The user's row, alone, serialises two creates at once (the limit is per user).
        get_user_model().objects.select_for_update(of=("self",)).filter(pk=user.pk).exists()
        lists = Watchlist.objects.filter(user=user)
        if lists.count() >= MAX_WATCHLISTS:
            raise WatchlistRefused(f"You have {MAX_WATCHLISTS} watchlists, the most one may keep.")
        last = lists.aggregate(last=Max("position"))["last"]
        try:
            with transaction.atomic():
                return Watchlist.objects.create(
                    user=user, name=name, position=0 if last is None else last + 1
                )
        except IntegrityError:
            raise WatchlistRefused(f"You already have a watchlist named {name!r}.") from None


def watchlists_ensure(*, user) -> list[Watchlist]:
    """``user``'s lists in order; a first one, empty, made for a user with none."""
    lists = list(Watchlist.objects.filter(user=user))
    if not lists:
        try:
            lists = [watchlist_create(user=user, name="Watchlist 1")]
        except WatchlistRefused:  # made by another request meanwhile
            lists = list(Watchlist.objects.filter(user=user))
    return lists


def watchlist_rename(*, user, watchlist_id: int, name: str) -> Watchlist:
    name = _name_checked(name)
    with transaction.atomic():
        watchlist = _locked(user, watchlist_id)
        if Watchlist.objects.filter(user=user, name=name).exclude(pk=watchlist.pk).exists():
            raise WatchlistRefused(f"You already have a watchlist named {name!r}.")
        watchlist.name = name
        watchlist.save(update_fields=["name"])
    return watchlist


def watchlist_delete(*, user, watchlist_id: int) -> None:
    """Delete one of ``user``'s lists (and its items); the last one stays (it is emptied)."""
    with transaction.atomic():
        watchlist = _locked(user, watchlist_id)
        if Watchlist.objects.filter(user=user).count() == 1:
            watchlist.items.all().delete()
            return
        watchlist.delete()


def watchlist_add(*, user, watchlist_id: int, key: str) -> WatchlistItem:
    """Add the instrument ``key`` (``NSE:INFY``, or ``INFY`` on NSE) at the end of the list."""
    key = str(key or "").strip().upper()
    if not key:
        raise WatchlistRefused("Name an instrument to add, e.g. NSE:INFY.")
    try:
        instrument = instrument_get(key if ":" in key else f"NSE:{key}")
    except UnknownInstrument:
        raise WatchlistRefused(f"There is no instrument {key}.") from None
    if not instrument.is_active:
        raise WatchlistRefused(f"{instrument.key} is not traded any more.")
    with transaction.atomic():
        watchlist = _locked(user, watchlist_id)
        items = watchlist.items.all()
        if items.filter(instrument=instrument).exists():
            raise WatchlistRefused(f"{instrument.key} is already on {watchlist.name}.")
        if items.count() >= MAX_ITEMS:
            raise WatchlistRefused(f"{watchlist.name} holds {MAX_ITEMS} instruments, the most.")
        last = items.aggregate(last=Max("position"))["last"]
        return WatchlistItem.objects.create(
            watchlist=watchlist, instrument=instrument, position=0 if last is None else last + 1
        )


def watchlist_remove(*, user, watchlist_id: int, item_id: int) -> None:
    with transaction.atomic():
        watchlist = _locked(user, watchlist_id)
        deleted, _ = watchlist.items.filter(pk=item_id).delete()
        if not deleted:
            raise WatchlistRefused(f"{watchlist.name} has no such instrument.")


def watchlist_move(*, user, watchlist_id: int, item_id: int, by: int) -> None:
    """Move an item ``by`` places (-1 up, 1 down); at an end it stays."""
    if by not in (-1, 1):
        raise WatchlistRefused("An instrument moves one place up or down.")
    with transaction.atomic():
        watchlist = _locked(user, watchlist_id)
        items = list(watchlist.items.order_by("position", "pk"))
        at = next((i for i, item in enumerate(items) if item.pk == item_id), None)
        if at is None:
            raise WatchlistRefused(f"{watchlist.name} has no such instrument.")
        to = at + by
        if not 0 <= to < len(items):
            return
        items[at], items[to] = items[to], items[at]
        for position, item in enumerate(items):
            item.position = position
        WatchlistItem.objects.bulk_update(items, ["position"])
