"""Choices the strategies app's models share."""

from django.db import models


class Sizing(models.TextChoices):
    """How an entry's quantity is set: a fixed quantity, or the 2 % rule at an ATR stop."""

    FIXED = "fixed", "Fixed quantity"
    RISK = "risk", "Risk % of equity at an ATR stop (risk.sizing)"
