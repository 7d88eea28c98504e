"""Models of the marketdata app."""

from django.db import models


class MarketDataAccess(models.Model):  # noqa: DJ008 - it has no rows to show
    """Holds the market data's named permissions, which belong to no single table.

    It has no table of its own; roles in ``ops.roles`` grant these permissions.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_market_data", "Can read quotes, bars and instruments"),
            ("import_market_data", "Can import instruments and bars"),
            ("warm_price_cache", "Can warm the price cache"),
        ]
