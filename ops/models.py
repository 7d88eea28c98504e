"""Models of the ops app: named permissions, long-job runs and API keys."""

from django.conf import settings
from django.db import models

from ops.crypto import EncryptedTextField
from tradingsite.records import KeptRecord


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


class ApiKey(KeptRecord):
    """A user's key for one trading account: signs requests with HMAC-SHA256 (RFC 9421).

    The secret is shown once at creation and kept encrypted (the server needs it to check
    signatures). SEBI: requests come only from the key's static IPs (a primary and an
    optional secondary), which change at most once in seven days.
    """

    class Scope(models.TextChoices):
        READ = "read", "Read"
        TRADE = "trade", "Read and trade"

    key_id = models.CharField(max_length=40, unique=True, editable=False)
    secret = EncryptedTextField(editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(
        "orders.TradingAccount", on_delete=models.PROTECT, related_name="api_keys"
    )
    label = models.CharField(max_length=80)
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.READ)
    algo_id = models.CharField(
        max_length=32, blank=True, help_text="Exchange-issued algo ID its orders carry"
    )
    algo_registered = models.BooleanField(
        default=False, help_text="The algo is registered with the exchange (above 10 orders/s)"
    )
    primary_ip = models.GenericIPAddressField(null=True, blank=True)
    secondary_ip = models.GenericIPAddressField(null=True, blank=True)
    ips_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    replaced_by = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaces"
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.key_id} ({self.label})"

    @property
    def static_ips(self) -> list[str]:
        return [ip for ip in (self.primary_ip, self.secondary_ip) if ip]


class AllowlistEntry(models.Model):
    """An address range allowed to reach the admin, the API, or both (beside the deploy file)."""

    class Surface(models.TextChoices):
        ADMIN = "admin", "Admin"
        API = "api", "API"
        BOTH = "both", "Admin and API"

    network = models.CharField(max_length=43, help_text="IPv4 or IPv6 CIDR, e.g. 203.0.113.0/24")
    surface = models.CharField(max_length=5, choices=Surface.choices, default=Surface.BOTH)
    note = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["surface", "network"]
        verbose_name = "allowlist entry"
        verbose_name_plural = "IP allowlist"

    def __str__(self) -> str:
        return f"{self.network} ({self.surface})"

    def clean(self) -> None:
        import ipaddress

        from django.core.exceptions import ValidationError

        try:
            self.network = str(ipaddress.ip_network(self.network.strip(), strict=False))
        except ValueError:
            raise ValidationError(
                {"network": f"{self.network!r} is not an IPv4 or IPv6 address or CIDR range"}
            ) from None
