"""The demo plants trades that trip every surveillance pattern, so the queue is not empty;
a second run plants nothing; with the market closed it plants nothing and says so."""

from datetime import date, datetime, time
from io import StringIO

import pytest
import time_machine

from compliance.alerts.models import Alert, AlertRule
from compliance.surveillance import demo
from marketdata.calendar import IST
from orders.models import Order
from orders.tests.fixtures import quote
from risk.models import KillSwitch

pytestmark = pytest.mark.django_db


# The demo clock keeps the market open at any hour: the planted close is today's 15:30 IST
# whether the demo runs before it, in its last minutes or after it.
@pytest.mark.parametrize("wall_clock", ["10:00", "15:27", "15:45", "23:10"])
def test_the_demo_trips_every_pattern_once(
    market, monkeypatch, wall_clock, thin_stock, demo_officers
):
    started = datetime.combine(date(2026, 12, 2), time.fromisoformat(wall_clock), IST)
    priced = {"bid": "800.00", "ask": "800.05", "prev": "800.00"}
    quote("INFY", **priced)
    quote("SMALLCAP", bid="100.00", ask="100.05", prev="100.00")  # a 5 % band: not chosen
    out = StringIO()
    with time_machine.travel(started, tick=True) as clock:
        # The order-to-trade burst is paced under the order-rate limit; here the clock is
        # moved on instead of waited for (and the quote kept fresh).
        monkeypatch.setattr(demo.time, "sleep", lambda s: (clock.shift(s), quote("INFY", **priced)))
        demo.seed(stdout=out)
    rules = AlertRule.objects.filter(kind=AlertRule.Kind.SURVEILLANCE)
    tripped = {r.code for r in rules if Alert.objects.filter(rule=r).exists()}
    assert tripped == {r.code for r in rules}
    assert "planted trades in NSE:INFY" in out.getvalue()
    assert not Order.objects.filter(status="REJECTED").exists()  # all within the risk limits
    assert not KillSwitch.objects.exists()
    orders, alerts = Order.objects.count(), Alert.objects.count()
    again = StringIO()
    demo.seed(stdout=again)
    assert "already planted" in again.getvalue()
    assert (Order.objects.count(), Alert.objects.count()) == (orders, alerts)


def test_with_the_market_closed_the_demo_plants_nothing(market, settings):
    settings.MARKETDATA_ALWAYS_OPEN = False
    out = StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo.calendar, "is_open", lambda *a: False)
        demo.seed(stdout=out)
    assert "market is closed" in out.getvalue()
    assert Order.objects.count() == 0
