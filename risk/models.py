"""Models of the risk app: desks, layered limits, limit changes (maker-checker), kill switches,
breaches, and the per-account exposure view."""

from decimal import Decimal

from django.conf import settings
from django.db import models

from orders.models import TradingAccount
from risk.choices import KillSwitchLevel, KillSwitchMode, LimitKind, Scope
from tradingsite.records import KeptRecord

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


def target_label(scope: str, *, desk=None, account=None, instrument=None) -> str:
    """Where a limit applies, as the desk says it: "the firm", "desk Equities", "TS0001",
    "TS0001 in NSE:INFY"."""
    labels = {
        Scope.FIRM: lambda: "the firm",
        Scope.DESK: lambda: f"desk {desk}",
        Scope.ACCOUNT: lambda: str(account),
        Scope.ACCOUNT_INSTRUMENT: lambda: f"{account} in {getattr(instrument, 'key', instrument)}",
    }
    return labels[scope]()


def limit_value_label(kind: str, value: Decimal | None, products: str) -> str:
    """A limit's value as people write it: 100 rather than 100.00, products as listed."""
    if kind == LimitKind.ALLOWED_PRODUCTS:
        return products or "none"
    if value is None:
        return "none"
    return f"{value:.0f}" if value == value.to_integral_value() else str(value)


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
        Desk, null=True, blank=True, on_delete=models.PROTECT, related_name="limits"
    )
    account = models.ForeignKey(
        "orders.TradingAccount", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    instrument = models.ForeignKey(
        "marketdata.Instrument", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
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
        return f"{self.get_kind_display()} for {self.target_display}: {self.value_display}"

    @property
    def target_display(self) -> str:
        return target_label(
            self.scope, desk=self.desk, account=self.account, instrument=self.instrument
        )

    @property
    def value_display(self) -> str:
        return limit_value_label(self.kind, self.value, self.products)


class LimitChange(KeptRecord):
    """A proposed limit (maker), approved or rejected by a different risk manager (checker)."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    scope = models.CharField(max_length=20, choices=Scope.choices)
    kind = models.CharField(max_length=32, choices=LimitKind.choices)
    desk = models.ForeignKey(
        Desk, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    account = models.ForeignKey(
        "orders.TradingAccount", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    instrument = models.ForeignKey(
        "marketdata.Instrument", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
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
        what = "remove" if self.remove else limit_value_label(self.kind, self.value, self.products)
        return f"{self.get_kind_display()} for {self.target_display}: {what} ({self.status})"

    @property
    def target_display(self) -> str:
        return target_label(
            self.scope, desk=self.desk, account=self.account, instrument=self.instrument
        )


class KillSwitch(KeptRecord):
    """A trip that blocks new orders at one level; active until reset by another risk manager."""

    level = models.CharField(max_length=12, choices=KillSwitchLevel.choices)
    mode = models.CharField(
        max_length=12,
        choices=KillSwitchMode.choices,
        default=KillSwitchMode.HALT,
        help_text="Halt: cancel every open order and refuse new ones. Reduce only: keep the "
        "orders that only reduce a position (protective stops), cancel the rest, and refuse "
        "anything that would grow or flip a position.",
    )
    account = models.ForeignKey(
        "orders.TradingAccount", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    instrument = models.ForeignKey(
        "marketdata.Instrument", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
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
        target = self.account or getattr(self.instrument, "key", None) or self.algo_id or "the firm"
        state = self.get_mode_display() if self.active else "reset"
        return f"Kill switch on {target} ({state})"

    @property
    def active(self) -> bool:
        return self.reset_at is None


class Breach(KeptRecord):
    """A limit found breached, and the kill switch it tripped: by a post-trade monitor (daily
    loss, exposure) or by placement (order rate)."""

    class Source(models.TextChoices):
        MONITOR = "monitor", "Post-trade monitor"
        PRE_TRADE = "pre_trade", "Pre-trade check"

    detected_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    kind = models.CharField(max_length=32, choices=LimitKind.choices)
    account = models.ForeignKey(
        "orders.TradingAccount", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    algo_id = models.CharField(max_length=32, blank=True)
    limit = models.DecimalField(max_digits=18, decimal_places=2)
    value = models.DecimalField(max_digits=18, decimal_places=2)
    kill_switch = models.ForeignKey(
        KillSwitch, null=True, blank=True, on_delete=models.PROTECT, related_name="breaches"
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
