"""Choices of the risk app: where a limit applies, what it limits, kill-switch levels."""

from django.db import models


class Scope(models.TextChoices):
    """Layers, broadest first. The most restrictive applicable limit wins."""

    FIRM = "firm", "Firm"
    DESK = "desk", "Desk (account group)"
    ACCOUNT = "account", "Account"
    ACCOUNT_INSTRUMENT = "account_instrument", "Account x instrument"


class LimitKind(models.TextChoices):
    MAX_ORDER_VALUE = "max_order_value", "Max order value (Rs)"
    MAX_ORDER_QUANTITY = "max_order_quantity", "Max order quantity"
    MAX_POSITION_QUANTITY = "max_position_quantity", "Max position quantity per instrument"
    MAX_POSITION_VALUE = "max_position_value", "Max position value per instrument (Rs)"
    MAX_OPEN_POSITIONS = "max_open_positions", "Max open positions"
    MAX_GROSS_EXPOSURE = "max_gross_exposure", "Max gross exposure (Rs)"
    MAX_NET_EXPOSURE = "max_net_exposure", "Max net exposure (Rs)"
    MAX_DAILY_LOSS = "max_daily_loss", "Max daily loss, realized + MTM (Rs)"
    MAX_RISK_PER_TRADE_PCT = "max_risk_per_trade_pct", "Max risk per trade (% of equity)"
    ORDER_RATE_PER_SECOND = "order_rate_per_second", "Orders per second"
    FAT_FINGER_PCT = "fat_finger_pct", "Max limit-price deviation from LTP (%)"
    ALLOWED_PRODUCTS = "allowed_products", "Allowed products"


class KillSwitchLevel(models.TextChoices):
    GLOBAL = "global", "Global"
    ACCOUNT = "account", "Account"
    INSTRUMENT = "instrument", "Instrument"
    ALGO = "algo", "Algo ID"


class KillSwitchMode(models.TextChoices):
    """What a tripped switch still lets through (NautilusTrader's trading states)."""

    HALT = "halt", "Halt"
    REDUCE_ONLY = "reduce_only", "Reduce only"
