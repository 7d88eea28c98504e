"""Models of the ops app."""

from django.db import models


class OpsAccess(models.Model):  # noqa: DJ008 - it has no rows to show
    """Holds the operations's named permissions, which belong to no single table.

    It has no table of its own; roles in ``ops.roles`` grant these permissions.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("access_api", "Can use the REST API"),
            ("access_dashboard", "Can use the web dashboard"),
            ("manage_own_api_keys", "Can create and revoke their own API keys"),
            ("manage_api_keys", "Can manage every user's API keys"),
            ("manage_ip_allowlist", "Can edit the IP allowlists"),
            ("rotate_secrets", "Can rotate secrets"),
            ("view_task_results", "Can see background job results"),
            ("view_system_health", "Can see readiness details and metrics"),
        ]
