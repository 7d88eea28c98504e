"""Choices of the market-data app: exchanges, bar intervals and surveillance stages."""

from datetime import timedelta

from django.db import models


class Exchange(models.TextChoices):
    NSE = "NSE", "National Stock Exchange"
    BSE = "BSE", "BSE"


class Interval(models.TextChoices):
    MINUTE = "1m", "1 minute"
    FIVE_MINUTES = "5m", "5 minutes"
    FIFTEEN_MINUTES = "15m", "15 minutes"
    HOUR = "1h", "1 hour"
    DAY = "1d", "1 day"


#: Length of each interval (a day bar covers one session, whatever its length).
INTERVAL_LENGTH = {
    Interval.MINUTE: timedelta(minutes=1),
    Interval.FIVE_MINUTES: timedelta(minutes=5),
    Interval.FIFTEEN_MINUTES: timedelta(minutes=15),
    Interval.HOUR: timedelta(hours=1),
    Interval.DAY: timedelta(days=1),
}


class AsmStage(models.TextChoices):
    """Additional Surveillance Measure framework stages (NSE/BSE)."""

    NONE = "", "Not in ASM"
    LT_1 = "LT-ASM-I", "Long-term ASM stage I"
    LT_2 = "LT-ASM-II", "Long-term ASM stage II"
    LT_3 = "LT-ASM-III", "Long-term ASM stage III"
    LT_4 = "LT-ASM-IV", "Long-term ASM stage IV"
    ST_1 = "ST-ASM-I", "Short-term ASM stage I"
    ST_2 = "ST-ASM-II", "Short-term ASM stage II"


class GsmStage(models.TextChoices):
    """Graded Surveillance Measure stages."""

    NONE = "", "Not in GSM"
    STAGE_0 = "0", "GSM stage 0"
    STAGE_1 = "I", "GSM stage I"
    STAGE_2 = "II", "GSM stage II"
    STAGE_3 = "III", "GSM stage III"
    STAGE_4 = "IV", "GSM stage IV"
