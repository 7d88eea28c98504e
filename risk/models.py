"""Models of the risk app: desks, layered limits, limit changes (maker-checker), kill switches,
breaches, and the per-account exposure view."""

from django.conf import settings
from django.db import models

from orders.models import TradingAccount
from risk.choices import KillSwitchLevel, LimitKind, Scope

LIMIT_VALUE = {"max_digits": 18, "decimal_places": 2, "null": True, "blank": True}


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


class Desk(models.Model):
    """A group of trading accounts that share limits (a desk, a branch, a client group)."""

    name = models.CharField(max_length=80, unique=True)
    accounts = models.ManyToManyField("orders.TradingAccount", related_name="desks", blank=True)

    def __str__(self) -> str:
        return self.name


def target_key(scope: str, *, desk=None, account=None, instrument=None) -> str:
    """One string naming where a limit applies, e.g. ``account:7:instrument:12``."""
    desk_id, account_id = getattr(desk, "pk", desk), getattr(account, "pk", account)
    instrument_id = getattr(instrument, "pk", instrument)
    keys = {
        Scope.FIRM: "firm",
        Scope.DESK: f"desk:{desk_id}",
        Scope.ACCOUNT: f"account:{account_id}",
        Scope.ACCOUNT_INSTRUMENT: f"account:{account_id}:instrument:{instrument_id}",
    }
    return keys[scope]


class RiskLimit(models.Model):
    """A limit in force. Created and changed only through an approved LimitChange."""

    scope = models.CharField(max_length=20, choices=Scope.choices)
    kind = models.CharField(max_length=32, choices=LimitKind.choices)
    desk = models.ForeignKey(
        Desk, null=True, blank=True, on_delete=models.CASCADE, related_name="limits"
    )
    account = models.ForeignKey(
        "orders.TradingAccount", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    instrument = models.ForeignKey(
        "marketdata.Instrument", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    target = models.CharField(max_length=64, editable=False)
    value = models.DecimalField(**LIMIT_VALUE)
    products = models.CharField(
        max_length=20, blank=True, help_text="allowed_products: e.g. CNC,MIS"
    )
    change = models.ForeignKey("LimitChange", null=True, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["target", "kind"], name="risk_limit_unique_target_kind")
        ]

    def __str__(self) -> str:
        return f"{self.target} {self.kind} {self.products or self.value}"


class LimitChange(models.Model):
    """A proposed limit (maker), approved or rejected by a different risk manager (checker)."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    scope = models.CharField(max_length=20, choices=Scope.choices)
    kind = models.CharField(max_length=32, choices=LimitKind.choices)
    desk = models.ForeignKey(
        Desk, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    account = models.ForeignKey(
        "orders.TradingAccount", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    instrument = models.ForeignKey(
        "marketdata.Instrument", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    value = models.DecimalField(**LIMIT_VALUE)
    products = models.CharField(max_length=20, blank=True)
    remove = models.BooleanField(default=False, help_text="Approving removes the limit")
    reason = models.CharField(max_length=200)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-proposed_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.scope} -> {self.products or self.value} ({self.status})"


class KillSwitch(models.Model):
    """A trip that blocks new orders at one level; active until reset by another risk manager."""

    level = models.CharField(max_length=12, choices=KillSwitchLevel.choices)
    account = models.ForeignKey(
        "orders.TradingAccount", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    instrument = models.ForeignKey(
        "marketdata.Instrument", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    algo_id = models.CharField(max_length=32, blank=True)
    reason = models.CharField(max_length=200)
    tripped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty when a monitor tripped it",
    )
    tripped_at = models.DateTimeField(auto_now_add=True)
    reset_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reset_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-tripped_at"]
        indexes = [models.Index(fields=["reset_at", "level"])]
        verbose_name_plural = "kill switches"

    def __str__(self) -> str:
        target = self.account or self.instrument or self.algo_id or "all trading"
        return f"{self.level} kill switch on {target} ({'active' if self.active else 'reset'})"

    @property
    def active(self) -> bool:
        return self.reset_at is None


class Breach(models.Model):
    """A limit found breached, and the kill switch it tripped: by a post-trade monitor (daily
    loss, exposure) or by placement (order rate)."""

    class Source(models.TextChoices):
        MONITOR = "monitor", "Post-trade monitor"
        PRE_TRADE = "pre_trade", "Pre-trade check"

    detected_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    kind = models.CharField(max_length=32, choices=LimitKind.choices)
    account = models.ForeignKey(
        "orders.TradingAccount", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    algo_id = models.CharField(max_length=32, blank=True)
    limit = models.DecimalField(max_digits=18, decimal_places=2)
    value = models.DecimalField(max_digits=18, decimal_places=2)
    kill_switch = models.ForeignKey(
        KillSwitch, null=True, blank=True, on_delete=models.SET_NULL, related_name="breaches"
    )

    class Meta:
        ordering = ["-detected_at", "-id"]
        verbose_name_plural = "breaches"

    def __str__(self) -> str:
        return (
            f"{self.kind} breached by {self.account or self.algo_id}: {self.value} > {self.limit}"
        )


class AccountExposure(TradingAccount):
    """Trading accounts seen by the risk desk: the admin's per-account exposure view."""

    class Meta:
        proxy = True
        default_permissions = ()
        verbose_name = "account exposure"
        verbose_name_plural = "account exposure"
