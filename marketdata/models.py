"""Models of the market-data app: the instrument master and OHLCV bars."""

from decimal import Decimal

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from stdnum import isin as isin_number

from marketdata.choices import AsmStage, Exchange, GsmStage, Interval

PRICE = {"max_digits": 12, "decimal_places": 2}


def validate_isin(value: str) -> None:
    from django.core.exceptions import ValidationError

    if value and not isin_number.is_valid(value):
        raise ValidationError(f"{value!r} is not a valid ISIN.")


class MarketDataAccess(models.Model):  # noqa: DJ008 - it has no rows to show
    """Holds the market data's named permissions, which belong to no single table.

    It has no table of its own; roles in ``ops.roles`` grant these permissions.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_market_data", "Can read quotes, bars and instruments"),
            ("import_market_data", "Can import instruments and bars"),
            ("warm_price_cache", "Can warm the price cache"),
        ]


class Instrument(models.Model):
    """One tradable security on one exchange, as NSE's instrument master describes it."""

    exchange = models.CharField(max_length=8, choices=Exchange.choices, default=Exchange.NSE)
    tradingsymbol = models.CharField(
        max_length=20, validators=[RegexValidator(r"^[A-Z0-9&-]+$", "Use NSE symbol characters.")]
    )
    isin = models.CharField(max_length=12, blank=True, validators=[validate_isin])
    name = models.CharField(max_length=200)
    sector = models.CharField(max_length=100, blank=True, help_text="NSE industry classification")
    series = models.CharField(max_length=4, default="EQ")
    lot_size = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    tick_size = models.DecimalField(
        max_digits=8,
        decimal_places=4,
        default=Decimal("0.05"),
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    price_band_pct = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True,
        help_text="Daily price band in percent (2, 5, 10 or 20); empty: dynamic bands only.",
    )  # fmt: skip
    freeze_quantity = models.PositiveIntegerField(
        null=True, blank=True, help_text="Largest quantity one order may carry; empty means no cap."
    )
    face_value = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    listing_date = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    asm_stage = models.CharField(max_length=12, choices=AsmStage.choices, blank=True, default="")
    gsm_stage = models.CharField(max_length=4, choices=GsmStage.choices, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["exchange", "tradingsymbol"]
        constraints = [
            models.UniqueConstraint(
                fields=["exchange", "tradingsymbol"], name="instrument_unique_symbol"
            )
        ]
        indexes = [models.Index(fields=["isin"]), models.Index(fields=["sector"])]

    def __str__(self) -> str:
        return self.key

    @property
    def key(self) -> str:
        """The key used across the API and the cache: ``EXCHANGE:SYMBOL``."""
        return f"{self.exchange}:{self.tradingsymbol}"

    @property
    def under_surveillance(self) -> bool:
        return bool(self.asm_stage or self.gsm_stage)


class IndexMembership(models.Model):
    """An instrument's membership of an index such as NIFTY 50."""

    index = models.CharField(max_length=40, db_index=True)
    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="indices")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["index", "instrument"], name="index_membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.index}: {self.instrument}"


class Bar(models.Model):
    """One OHLCV bar. The primary key is (instrument, interval, start): one row per bar,
    no surrogate id, and the key's index serves every range query."""

    pk = models.CompositePrimaryKey("instrument", "interval", "start")
    instrument = models.ForeignKey(
        Instrument, on_delete=models.CASCADE, db_index=False, related_name="+"
    )
    interval = models.CharField(max_length=3, choices=Interval.choices)
    start = models.DateTimeField()
    open = models.DecimalField(**PRICE)
    high = models.DecimalField(**PRICE)
    low = models.DecimalField(**PRICE)
    close = models.DecimalField(**PRICE)
    volume = models.BigIntegerField(validators=[MinValueValidator(0)])

    class Meta:
        ordering = ["instrument", "interval", "start"]

    def __str__(self) -> str:
        return f"{self.instrument_id} {self.interval} {self.start:%Y-%m-%d %H:%M}"


class AccessSample(models.Model):
    """One sampled quote lookup: what was asked together, by whom, and when.

    The prefetch predictors learn from these; ``prefetch_hits`` counts the keys of the
    lookup that an earlier prefetch had already fetched (its measured accuracy).
    """

    at = models.DateTimeField(db_index=True)
    keys = models.JSONField()
    client = models.CharField(max_length=64, blank=True)
    prefetch_hits = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {len(self.keys)} key(s)"
