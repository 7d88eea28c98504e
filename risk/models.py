"""Models of the risk app."""

from django.db import models


class RiskAccess(models.Model):  # noqa: DJ008 - it has no rows to show
    """Holds the risk desk's named permissions, which belong to no single table.

    It has no table of its own; roles in ``ops.roles`` grant these permissions.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_exposure", "Can see exposure and risk snapshots of every account"),
            ("propose_limit_change", "Can propose a risk limit change (maker)"),
            ("approve_limit_change", "Can approve another person's risk limit change (checker)"),
            ("trip_kill_switch", "Can trip a kill switch"),
            ("reset_kill_switch", "Can reset a kill switch tripped by someone else"),
            ("run_what_if", "Can run the pre-trade checks without placing an order"),
        ]
