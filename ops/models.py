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


class JobRun(models.Model):
    """One run of a long job (import, generation, warming, export) and how far it got.

    Written outside the job's own transactions, so the admin sees progress live and a
    failed run keeps its error message.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=64, db_index=True, help_text="e.g. marketdata.import_bars")
    description = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    total = models.BigIntegerField(null=True, blank=True)
    done = models.BigIntegerField(default=0)
    unit = models.CharField(max_length=16, default="rows")
    message = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def percent(self) -> float | None:
        if not self.total:
            return None
        return round(100 * self.done / self.total, 1)
