"""Models of the strategies app."""

from django.db import models


class StrategiesAccess(models.Model):  # noqa: DJ008 - it has no rows to show
    """Holds the strategy desk's named permissions, which belong to no single table.

    It has no table of its own; roles in ``ops.roles`` grant these permissions.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_strategies", "Can see strategies and backtests"),
            ("deploy_strategy", "Can deploy a strategy on an account"),
            ("run_backtest", "Can run backtests"),
        ]
