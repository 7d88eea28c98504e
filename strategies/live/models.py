"""A deployment of a strategy on an account, and each decision it took at a bar's close.

Both are kept records: a deployment is stopped, never deleted, and its decisions are the
record of why each of its orders was sent (or not). The deployment's state (the targets and
shares it holds, the last bar it decided on) is in its row, so a restarted worker resumes it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from strategies.choices import Sizing
from tradingsite.records import KeptRecord

MONEY = {"max_digits": 16, "decimal_places": 2}


class StrategyDeployment(KeptRecord):
    """A strategy with its parameters, trading one account under one algo ID."""

    class Mode(models.TextChoices):
        PAPER = "paper", "Paper (the paper exchange)"
        LIVE = "live", "Live (a broker)"

    class Status(models.TextChoices):
        READY = "ready", "Ready (not started)"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        STOPPED = "stopped", "Stopped"

    strategy = models.CharField(max_length=32)
    params = models.JSONField(default=dict, blank=True, help_text="As the strategy checked them")
    account = models.ForeignKey(
        "orders.TradingAccount", on_delete=models.PROTECT, related_name="deployments"
    )
    instrument = models.ForeignKey(
        "marketdata.Instrument", on_delete=models.PROTECT, related_name="+"
    )
    second_instrument = models.ForeignKey(
        "marketdata.Instrument", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", help_text="The second leg of a two-leg strategy (pairs)",
    )  # fmt: skip
    interval = models.CharField(max_length=3, default="1m", help_text="The feed's bars: 1m")
    product = models.CharField(max_length=4, default="MIS")
    quantity = models.PositiveIntegerField(
        help_text="Shares per unit of target, per leg (fixed sizing)"
    )
    sizing = models.CharField(max_length=8, choices=Sizing.choices, default=Sizing.FIXED)
    risk_pct = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True,
        help_text="Risk sizing: percent of its equity lost if the stop is hit",
    )  # fmt: skip
    stop_atr = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True,
        help_text="Risk sizing: the stop's distance in ATR(14)s of its bars",
    )  # fmt: skip
    capital = models.DecimalField(
        **MONEY, help_text="Its equity to start with, and the most its positions may be worth"
    )
    algo_id = models.CharField(max_length=32, help_text="Exchange-issued algo ID its orders carry")
    mode = models.CharField(max_length=5, choices=Mode.choices, default=Mode.PAPER)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.READY)
    status_reason = models.CharField(max_length=300, blank=True)
    history_from = models.DateTimeField(
        help_text="The first bar the strategy reads (its warm-up): fixed, so live and the "
        "backtest of the same bars decide alike"
    )
    last_bar = models.DateTimeField(null=True, blank=True, help_text="The last bar decided on")
    targets = models.JSONField(default=list, blank=True, help_text="The targets it holds, per leg")
    positions = models.JSONField(
        default=list, blank=True, help_text="The shares it holds, per leg (signed: short < 0)"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        default_permissions = ("view",)
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="deployment_quantity"),
            models.CheckConstraint(condition=Q(capital__gt=0), name="deployment_capital"),
            models.CheckConstraint(condition=~Q(algo_id=""), name="deployment_algo_id"),
            models.UniqueConstraint(
                fields=["account", "algo_id"], condition=~Q(status="stopped"),
                name="deployment_one_per_algo_account",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.strategy} on {self.account} as {self.algo_id} ({self.get_status_display()})"


class DeploymentDecision(KeptRecord):
    """What a deployment decided at one bar's close, and the orders it sent for it."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending (orders being sent)"
        HOLD = "hold", "Hold (target unchanged)"
        PLACED = "placed", "Orders placed"
        REJECTED = "rejected", "Rejected by risk"
        REFUSED = "refused", "Refused (over its capital)"

    deployment = models.ForeignKey(
        StrategyDeployment, on_delete=models.PROTECT, related_name="decisions"
    )
    bar_start = models.DateTimeField()
    targets_before = models.JSONField(default=list)
    targets_after = models.JSONField(default=list)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.PENDING)
    order_ids = models.JSONField(default=list, blank=True)
    message = models.CharField(max_length=500, blank=True)
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["deployment", "bar_start"]
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(fields=["deployment", "bar_start"], name="decision_once_a_bar")
        ]

    def __str__(self) -> str:
        return f"{self.deployment_id} at {self.bar_start:%Y-%m-%d %H:%M}: {self.outcome}"
