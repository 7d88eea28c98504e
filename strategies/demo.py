"""Demo data of the strategies app: ``sma_cross`` deployed by the quant on Quantum Alpha
Capital's paper account under an algo ID, running, so the feed's bars make it trade."""

from decimal import Decimal

from django.contrib.auth import get_user_model

from marketdata.models import Bar, Instrument
from orders.models import TradingAccount
from strategies.live.models import StrategyDeployment
from strategies.live.services import deployment_create, deployment_start

ALGO_ID = "QAC-SMA-01"


def seed(*, stdout, reset_passwords: bool = False) -> None:
    if StrategyDeployment.objects.filter(algo_id=ALGO_ID).exists():
        stdout.write(f"Deployment {ALGO_ID}: already present.")
        return
    infy = Instrument.objects.get(exchange="NSE", tradingsymbol="INFY")
    first = (
        Bar.objects.filter(instrument=infy, interval="1m")
        .order_by("start")
        .values_list("start", flat=True)
        .first()
    )
    if first is None:
        stdout.write("Deployment: no one-minute bars of INFY to warm up on; none made.")
        return
    quant = get_user_model().objects.get(username="quant")
    deployment = deployment_create(
        actor=quant, strategy="sma_cross", params={}, account=TradingAccount.objects.get(
            code="TS0002"), instrument=infy, quantity=1, capital=Decimal("500000.00"),
        algo_id=ALGO_ID, history_from=first, product="MIS",
    )  # fmt: skip
    deployment_start(deployment, actor=quant)
    stdout.write(
        f"Deployment {deployment.pk}: sma_cross on TS0002 (INFY, 1 share, MIS) as {ALGO_ID}, "
        "running: it trades on the feed's one-minute bars."
    )
