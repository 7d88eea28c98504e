"""Models of the orders app: trading accounts, the cash ledger, orders, fills, positions, holdings.

Money is Decimal (``MONEY``: 16 digits, 2 places); quantities are integers. Rows that
record what happened (ledger entries, fills) are only ever inserted.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from orders.choices import LedgerKind, OrderStatus, OrderType, Product, TransactionType, Validity
from tradingsite.records import KeptRecord

MONEY = {"max_digits": 16, "decimal_places": 2}
PRICE = {"max_digits": 12, "decimal_places": 2}
AVERAGE = {"max_digits": 16, "decimal_places": 4}
ZERO = Decimal("0.00")


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


class TradingAccount(KeptRecord):
    """A client's trading account: who may act on it, its plan, its broker, its money."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        CLOSED = "closed", "Closed"

    class Kind(models.TextChoices):
        """Whose money trades: surveillance watches staff and proprietary accounts trading
        ahead of clients (front running)."""

        CLIENT = "client", "Client"
        PROPRIETARY = "proprietary", "Proprietary (the firm's own)"
        STAFF = "staff", "Staff (an employee's own)"

    code = models.CharField(max_length=16, unique=True)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.CLIENT)
    client = models.ForeignKey(
        "compliance.Client", on_delete=models.PROTECT, related_name="accounts"
    )
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="trading_accounts", blank=True
    )
    brokerage_plan = models.CharField(max_length=16, default="DISCOUNT")
    broker = models.CharField(max_length=16, default="paper", help_text="Broker adapter name")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    # Kept in step with the ledger and the open orders inside the same transactions.
    cash_balance = models.DecimalField(**MONEY, default=ZERO)
    blocked = models.DecimalField(**MONEY, default=ZERO, help_text="Funds blocked for open orders")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class LedgerEntry(KeptRecord):
    """One posting to an account's cash ledger: credits positive, debits negative."""

    account = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(max_length=24, choices=LedgerKind.choices)
    amount = models.DecimalField(**MONEY)
    order = models.ForeignKey(
        "Order", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    fill = models.ForeignKey(
        "Fill", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    memo = models.CharField(max_length=200, blank=True)
    posted_by = models.CharField(max_length=150, default="system")
    posted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["posted_at", "id"]
        indexes = [models.Index(fields=["account", "posted_at"])]
        verbose_name_plural = "ledger entries"

    def __str__(self) -> str:
        return f"{self.account} {self.kind} {self.amount}"


class LedgerCarryForward(KeptRecord):
    """The sum of an account's ledger entries that an archive run released from the online
    ledger (``compliance.retention.release``): the account's cash balance is always these
    plus the online entries, and a statement's opening balance counts those released before
    it. ``first_posted_at``/``last_posted_at`` bound the released postings, so a statement
    reaching into them is refused rather than shown short."""

    archive_run = models.ForeignKey(
        "compliance.ArchiveRun", on_delete=models.PROTECT, related_name="+"
    )
    account = models.ForeignKey(
        TradingAccount, on_delete=models.PROTECT, related_name="carried_forward"
    )
    amount = models.DecimalField(**MONEY)
    entries = models.PositiveIntegerField()
    first_posted_at = models.DateTimeField()
    last_posted_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account", "last_posted_at"]
        default_permissions = ("view",)
        verbose_name_plural = "ledger carried forward"
        constraints = [
            models.UniqueConstraint(
                fields=["archive_run", "account"], name="ledger_carried_once_per_run"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account} carried forward {self.amount} ({self.entries} entries)"


class Order(KeptRecord):
    """An order, in Kite Connect's vocabulary, with its state and the funds it holds."""

    account = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="orders")
    instrument = models.ForeignKey(
        "marketdata.Instrument", on_delete=models.PROTECT, related_name="+"
    )
    exchange = models.CharField(max_length=8)
    tradingsymbol = models.CharField(max_length=20)
    transaction_type = models.CharField(max_length=4, choices=TransactionType.choices)
    order_type = models.CharField(max_length=6, choices=OrderType.choices)
    product = models.CharField(max_length=4, choices=Product.choices)
    validity = models.CharField(max_length=3, choices=Validity.choices, default=Validity.DAY)
    quantity = models.PositiveIntegerField()
    price = models.DecimalField(**PRICE, null=True, blank=True)
    trigger_price = models.DecimalField(**PRICE, null=True, blank=True)
    # The touch (best bid and ask) of the quote placement checked the order against:
    # surveillance measures how far from the market an order was placed (spoofing, OTR).
    touch_bid = models.DecimalField(**PRICE, null=True, blank=True)
    touch_ask = models.DecimalField(**PRICE, null=True, blank=True)
    tag = models.CharField(max_length=20, blank=True)
    client_order_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 - NULL: no key
    algo_id = models.CharField(max_length=32, blank=True, help_text="Exchange-issued algo ID")

    status = models.CharField(max_length=16, choices=OrderStatus.choices)
    filled_quantity = models.PositiveIntegerField(default=0)
    average_price = models.DecimalField(**AVERAGE, default=Decimal("0"))
    rejection_reasons = models.JSONField(default=list, blank=True)
    broker_order_id = models.CharField(max_length=64, blank=True)
    blocked_amount = models.DecimalField(**MONEY, default=ZERO)
    # A cancel or change sent to the broker and not yet answered (CANCEL_PENDING,
    # MODIFY_PENDING): the working status to go back to if the broker refuses it, what was
    # asked, and when (the relay re-sends requests left unanswered).
    pending_from = models.CharField(max_length=16, choices=OrderStatus.choices, blank=True)
    pending_change = models.JSONField(default=dict, blank=True)
    requested_at = models.DateTimeField(null=True, blank=True)
    session_date = models.DateField(help_text="The trading day the order works in")
    payload_hash = models.CharField(
        max_length=64, help_text="Of the placing request, for idempotency"
    )

    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    placed_from_ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "client_order_id"],
                condition=Q(client_order_id__isnull=False),
                name="order_unique_client_order_id",
            ),
            models.CheckConstraint(
                condition=Q(filled_quantity__lte=models.F("quantity")),
                name="order_fill_within_quantity",
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_quantity_positive"),
        ]
        indexes = [
            models.Index(fields=["account", "status"]),
            models.Index(fields=["session_date", "status"]),
            models.Index(
                fields=["requested_at"],
                condition=Q(requested_at__isnull=False),
                name="order_request_waiting",
            ),
            # The order-rate checks count the last second's orders, of an account and of an
            # algo ID; without these they scan the account's (or every) order history.
            models.Index(fields=["account", "created_at"], name="order_account_recent"),
            models.Index(
                fields=["algo_id", "created_at"], condition=~Q(algo_id=""), name="order_algo_recent"
            ),
        ]

    def __str__(self) -> str:
        side = f"{self.transaction_type} {self.quantity}"
        return f"#{self.pk} {side} {self.exchange}:{self.tradingsymbol}"

    @property
    def pending_quantity(self) -> int:
        return self.quantity - self.filled_quantity


class Fill(KeptRecord):
    """One execution of an order, with the charges it incurred (a contract-note line)."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="fills")
    account = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="fills")
    broker_fill_id = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()
    price = models.DecimalField(**PRICE)
    charges = models.JSONField(help_text="Per-charge breakdown in rupees")
    charges_total = models.DecimalField(**MONEY)
    trade_date = models.DateField()
    filled_at = models.DateTimeField()

    class Meta:
        ordering = ["filled_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "broker_fill_id"], name="fill_unique_broker_fill"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="fill_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.quantity} @ {self.price}"


class Position(KeptRecord):
    """Net position of an account in one instrument and product, with its average cost."""

    account = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="positions")
    instrument = models.ForeignKey(
        "marketdata.Instrument", on_delete=models.PROTECT, related_name="+"
    )
    product = models.CharField(max_length=4, choices=Product.choices)
    quantity = models.IntegerField(default=0, help_text="Positive long, negative short")
    average_price = models.DecimalField(**AVERAGE, default=Decimal("0"))
    realized_pnl = models.DecimalField(
        "realized P&L (gross)", **MONEY, default=ZERO, help_text="Gross of charges"
    )
    charges = models.DecimalField(
        **MONEY, default=ZERO, help_text="Charges of this position's fills (brokerage, taxes)"
    )
    day_buy_quantity = models.PositiveIntegerField(default=0)
    day_sell_quantity = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "instrument", "product"], name="position_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.instrument} {self.product} {self.quantity}"


class Holding(KeptRecord):
    """Delivery holdings: settled shares, and shares bought and awaiting settlement (T1)."""

    account = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="holdings")
    instrument = models.ForeignKey(
        "marketdata.Instrument", on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveIntegerField(default=0)
    average_price = models.DecimalField(**AVERAGE, default=Decimal("0"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "instrument"], name="holding_unique")
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.instrument} {self.quantity}"


class MarginSnapshot(KeptRecord):
    """An account's funds and margin at one moment of a trading day, as the risk checks saw
    them: taken through the session (every half hour: the exchanges' peak-margin snapshots
    are random, ours are scheduled) and once after the close. The daily margin statement
    reads them; none is ever changed."""

    class Kind(models.TextChoices):
        INTRADAY = "intraday", "In session"
        CLOSE = "close", "After the close"

    account = models.ForeignKey(
        TradingAccount, on_delete=models.PROTECT, related_name="margin_snapshots"
    )
    trade_date = models.DateField()
    taken_at = models.DateTimeField()
    kind = models.CharField(max_length=8, choices=Kind.choices)
    cash = models.DecimalField(**MONEY)
    blocked = models.DecimalField(**MONEY, help_text="Funds blocked for open orders")
    margin_used = models.DecimalField(**MONEY, help_text="Held by open intraday positions")
    available = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["trade_date", "account", "taken_at"]
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(fields=["account", "taken_at"], name="margin_snapshot_once")
        ]
        indexes = [models.Index(fields=["trade_date", "account"], name="margin_snapshot_day")]

    def __str__(self) -> str:
        return f"{self.account} margin at {self.taken_at:%Y-%m-%d %H:%M}"


class OrderOutbox(KeptRecord):
    """An accepted order waiting to reach its broker; committed with the order itself."""

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="outbox")
    not_before = models.DateTimeField(help_text="After-market orders wait for the next open")
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["sent_at", "not_before"])]
        verbose_name_plural = "order outbox"

    def __str__(self) -> str:
        return f"outbox {self.order_id} ({'sent' if self.sent_at else 'pending'})"


class PaperOrder(models.Model):
    """The paper exchange's book: an order as the simulated exchange holds it."""

    class Status(models.TextChoices):
        WORKING = "working", "Working"
        FILLED = "filled", "Filled"
        CANCELLED = "cancelled", "Cancelled"

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="paper")
    exchange_order_id = models.CharField(max_length=32, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WORKING)
    quantity = models.PositiveIntegerField()
    price = models.DecimalField(**PRICE, null=True, blank=True)
    trigger_price = models.DecimalField(**PRICE, null=True, blank=True)
    remaining = models.PositiveIntegerField()
    triggered = models.BooleanField(default=False)
    executions = models.PositiveIntegerField(default=0, help_text="Numbers the exchange's fill ids")
    matched_quote_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The timestamp of the last quote this order was matched against; a quote "
        "no newer (a redelivered or late tick) is not matched again",
    )
    submitted_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"{self.exchange_order_id} ({self.status})"
