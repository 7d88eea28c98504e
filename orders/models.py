"""Models of the orders app."""

from django.db import models


class OrdersAccess(models.Model):  # noqa: DJ008 - it has no rows to show
    """Holds the order desk's named permissions, which belong to no single table.

    It has no table of its own; roles in ``ops.roles`` grant these permissions.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("place_order", "Can place orders"),
            ("modify_order", "Can modify open orders"),
            ("cancel_order", "Can cancel open orders"),
            ("cancel_any_order", "Can cancel any account's orders"),
            ("view_all_accounts", "Can see every trading account"),
            ("manage_trading_accounts", "Can open, suspend and close trading accounts"),
            (
                "post_ledger_adjustment",
                "Can post deposits, withdrawals and adjustments to the cash ledger",
            ),
            ("reconcile_broker", "Can reconcile orders with a broker adapter"),
        ]
