"""Watchlists: a user's named lists of instruments, in the order the user keeps them.

Preferences, not records: a user edits and deletes their own lists freely; deleting a
user deletes their lists. An instrument on a list cannot be deleted (``PROTECT``).
"""

from django.conf import settings
from django.db import models

#: How many lists a user may keep, and instruments a list may hold (as Kite's web app).
MAX_WATCHLISTS = 7
MAX_ITEMS = 100


class Watchlist(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watchlists"
    )
    name = models.CharField(max_length=40)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="watchlist_name_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"


class WatchlistItem(models.Model):
    watchlist = models.ForeignKey(Watchlist, on_delete=models.CASCADE, related_name="items")
    instrument = models.ForeignKey(
        "marketdata.Instrument", on_delete=models.PROTECT, related_name="+"
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["watchlist", "position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["watchlist", "instrument"], name="watchlist_instrument_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.instrument} on {self.watchlist}"
