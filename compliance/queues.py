"""Pieces every compliance queue in the admin shares: the age filter and column, and the
officers an item can be assigned to."""

from datetime import datetime, timedelta

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone

#: A queue's filter by assignee: only the officers something is assigned to, not every user.
ASSIGNEE_FILTER = ("assignee", admin.RelatedOnlyFieldListFilter)


def age_text(since: datetime, until: datetime | None = None) -> str:
    """How long an item has waited, e.g. "3d 4h" or "2h 15m"."""
    waited = (until or timezone.now()) - since
    days, hours = waited.days, waited.seconds // 3600
    return f"{days}d {hours}h" if days else f"{hours}h {waited.seconds // 60 % 60}m"


def age_filter(field: str) -> type[admin.SimpleListFilter]:
    """A list filter of how long ago ``field`` (a datetime) was: bands of days."""

    class AgeFilter(admin.SimpleListFilter):
        title = "age"
        parameter_name = "age"
        BANDS = {"1": (None, 1), "3": (1, 3), "7": (3, 7), "old": (7, None)}

        def lookups(self, request, model_admin):
            return [("1", "Under a day"), ("3", "1-3 days"), ("7", "3-7 days"),
                    ("old", "Over 7 days")]  # fmt: skip

        def queryset(self, request, queryset):
            if self.value() not in self.BANDS:
                return queryset
            low, high = self.BANDS[self.value()]
            now = timezone.now()
            if low is not None:
                queryset = queryset.filter(**{f"{field}__lte": now - timedelta(days=low)})
            if high is not None:
                queryset = queryset.filter(**{f"{field}__gt": now - timedelta(days=high)})
            return queryset

    return AgeFilter


def officers(codename: str) -> QuerySet:
    """Active staff who hold ``compliance.<codename>`` (directly, by a group, or as
    superusers): whom a queue's items can be assigned to."""
    users = get_user_model().objects.filter(is_active=True, is_staff=True)
    held = Q(groups__permissions__codename=codename) | Q(user_permissions__codename=codename)
    return users.filter(held | Q(is_superuser=True)).distinct().order_by("username")
