"""Alert rules (their parameters are data an officer can tune) and the alerts they raise.

An alert names its rule, its subject (a client, an account, an instrument, an algo ID: what
the rule grouped by), the window it looked at, a score and the evidence: references to the
orders, fills, ledger entries and audit events involved. One rule raises at most one alert
per subject and window (``subject_key`` + window), so running a rule twice raises nothing
new. Alerts are the compliance desk's alone: no trader or client API shows them
(tipping-off).
"""

from django.conf import settings
from django.db import models


class AlertRule(models.Model):
    """One monitoring or surveillance rule: what it looks for, and its parameters."""

    class Kind(models.TextChoices):
        MONITORING = "monitoring", "Transaction monitoring (PMLA)"
        SURVEILLANCE = "surveillance", "Market-abuse surveillance"

    code = models.SlugField(max_length=40, unique=True, help_text="e.g. wash_trade")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    params = models.JSONField(default=dict, blank=True, help_text="The rule's parameters")
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "code"]

    def __str__(self) -> str:
        return self.name


class Alert(models.Model):
    """What a rule found, for an officer to dismiss or group into a case."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DISMISSED = "dismissed", "Dismissed (no action)"
        IN_CASE = "in_case", "In a case"

    class Priority(models.IntegerChoices):
        LOW = 1, "Low"
        MEDIUM = 2, "Medium"
        HIGH = 3, "High"

    # The references below carry no database constraint: the check PostgreSQL defers to COMMIT
    # would take a KEY SHARE lock on the account after the firm's audit chain is held, which
    # deadlocks against a writer holding the account and waiting for that chain
    # (orders.locks). Accounts, clients and instruments are never deleted.
    rule = models.ForeignKey(AlertRule, on_delete=models.PROTECT, related_name="alerts")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    priority = models.IntegerField(choices=Priority.choices, default=Priority.MEDIUM)
    subject_key = models.CharField(
        max_length=120, help_text="What the rule grouped by, e.g. client:12 or algo:ALGO1:INFY"
    )
    client = models.ForeignKey(
        "compliance.Client",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    account = models.ForeignKey(
        "orders.TradingAccount",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    instrument = models.ForeignKey(
        "marketdata.Instrument",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    algo_id = models.CharField(max_length=40, blank=True)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    score = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    summary = models.CharField(max_length=300)
    #: [{"kind": "order" | "fill" | "ledger" | "audit", "id": int}, ...]
    evidence = models.JSONField(default=list, blank=True)
    detail = models.JSONField(default=dict, blank=True, help_text="The figures the rule used")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    case = models.ForeignKey(
        "compliance.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="alerts"
    )
    raised_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject_key", "window_start", "window_end"],
                name="compliance_alert_once_per_window",
            )
        ]
        indexes = [models.Index(fields=["status", "raised_at"], name="compliance_alert_queue")]

    def __str__(self) -> str:
        return f"{self.rule.code}: {self.summary}"
