"""Models of the strategies app: its permissions, and backtest runs."""

import zlib
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.db import models

from marketdata.choices import Interval
from marketdata.models import Instrument
from ops.models import JobRun
from orders.models import MONEY
from strategies.choices import Sizing


class StrategiesAccess(models.Model):  # noqa: DJ008 - it has no rows to show
    """Holds the strategy desk's named permissions, which belong to no single table.

    It has no table of its own; roles in ``ops.roles`` grant these permissions.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_strategies", "Can see strategies and backtests"),
            ("deploy_strategy", "Can deploy a strategy on an account"),
            ("run_backtest", "Can run backtests"),
        ]


def series_pack(values: np.ndarray, dtype: str = "<f8") -> bytes:
    """One value per bar, stored compactly: the little-endian array, zlib-compressed."""
    return zlib.compress(np.ascontiguousarray(values, dtype=dtype).tobytes(), 6)


def series_unpack(blob: bytes | memoryview | None, dtype: str = "<f8") -> np.ndarray:
    """The array :func:`series_pack` stored (empty for none)."""
    if not blob:
        return np.empty(0, dtype=dtype)
    return np.frombuffer(zlib.decompress(bytes(blob)), dtype=dtype)


class BacktestRun(models.Model):
    """One backtest of a strategy with its checked parameters on one instrument's bars (two
    for a pair; from the database, or a CSV named by ``source``), or one walk-forward of it
    (``kind``): what was asked, how it went, and what the engine gave back, with the code
    version that made it.

    A walk-forward run keeps its space and windows in ``walk_forward``, each window's chosen
    parameters and in-sample and out-of-sample metrics in ``windows``, and the in-sample
    against out-of-sample ``degradation``; its metrics, trades, equity and drawdown are the
    stitched out-of-sample run's, one value per out-of-sample bar.

    A research artefact, not a kept record; deleting one needs ``delete_backtestrun``.
    Equity, drawdown and the bar times are stored one value per bar, packed
    (:func:`series_pack`): read them with :attr:`equity`, :attr:`drawdown` and :attr:`times`.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Costs(models.TextChoices):
        NONE = "none", "Commission only"
        INDIA = "india", "Indian charges (orders.charges)"

    class Kind(models.TextChoices):
        BACKTEST = "backtest", "Backtest"
        WALK_FORWARD = "walk_forward", "Walk-forward"

    Sizing = Sizing

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.BACKTEST)
    strategy = models.CharField(max_length=64, help_text="A name in the strategy catalogue")
    params = models.JSONField(default=dict, help_text="Every parameter, as the strategy checked it")
    instrument = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    second_instrument = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="The second leg of a two-instrument strategy (pairs)",
    )  # fmt: skip
    interval = models.CharField(max_length=3, choices=Interval.choices, blank=True)
    date_from = models.DateField(null=True, blank=True, help_text="First session (IST)")
    date_to = models.DateField(null=True, blank=True, help_text="Last session (IST), included")
    source = models.CharField(
        max_length=255, blank=True, help_text="An uploaded CSV's label (bars not in the database)"
    )
    quantity = models.PositiveIntegerField(default=1)
    cash = models.DecimalField(**MONEY, default=Decimal("1000000.00"))
    commission_pct = models.DecimalField(
        max_digits=7, decimal_places=4, default=Decimal("0"), help_text="Percent of each fill"
    )
    slippage_bps = models.DecimalField(max_digits=7, decimal_places=2, default=Decimal("0"))
    costs = models.CharField(max_length=8, choices=Costs.choices, default=Costs.NONE)
    sizing = models.CharField(max_length=8, choices=Sizing.choices, default=Sizing.FIXED)
    risk_pct = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True,
        help_text="Risk sizing: percent of equity lost if the stop is hit",
    )  # fmt: skip
    stop_atr = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True,
        help_text="Risk sizing: the stop's distance in ATR(14)s below (above, short) the close",
    )  # fmt: skip
    walk_forward = models.JSONField(
        default=dict, blank=True, help_text="Walk-forward: the space, windows and objective"
    )
    windows = models.JSONField(
        default=list, blank=True, help_text="Walk-forward: each window's params and metrics"
    )
    degradation = models.JSONField(
        default=dict, blank=True, help_text="Walk-forward: in-sample against out-of-sample"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    metrics = models.JSONField(default=dict, blank=True, help_text="None: a ratio undefined")
    trades = models.JSONField(default=list, blank=True, help_text="Closed round trips")
    open_position = models.JSONField(null=True, blank=True, help_text="Still open at the end")
    bar_count = models.PositiveIntegerField(null=True, blank=True)
    times_packed = models.BinaryField(null=True, blank=True, editable=False)
    equity_packed = models.BinaryField(null=True, blank=True, editable=False)
    drawdown_packed = models.BinaryField(null=True, blank=True, editable=False)
    code_version = models.CharField(max_length=64, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    job_run = models.ForeignKey(
        JobRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["requested_by", "-created_at"], name="backtest_run_mine")]

    def __str__(self) -> str:
        what = self.get_kind_display()
        return f"{what} {self.pk}: {self.strategy} on {self.data_label} ({self.status})"

    @property
    def data_label(self) -> str:
        """What the run read: ``NSE:INFY 1d 2024-01-01..2024-12-31``, or the CSV's label."""
        if self.instrument_id is None:
            return self.source or "-"
        pair = f"/{self.second_instrument.key}" if self.second_instrument_id else ""
        return f"{self.instrument.key}{pair} {self.interval} {self.date_from}..{self.date_to}"

    @property
    def times(self) -> np.ndarray:
        """Each bar's start, ``datetime64[us]`` UTC."""
        return series_unpack(self.times_packed, "<i8").astype("datetime64[us]")

    @property
    def equity(self) -> np.ndarray:
        return series_unpack(self.equity_packed)

    @property
    def drawdown(self) -> np.ndarray:
        """Percent below the running peak of equity at each bar (0 at a peak, else negative)."""
        return series_unpack(self.drawdown_packed)


from strategies.live.models import DeploymentDecision, StrategyDeployment  # noqa: E402, F401
