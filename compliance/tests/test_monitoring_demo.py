"""The demo plants deposits, withdrawals and trades that trip every monitoring rule exactly
once; a second seed plants nothing and a second run raises nothing new; with the market
closed it plants nothing and says so."""

from io import StringIO

import pytest

from compliance.alerts.models import Alert, AlertRule
from compliance.monitoring import demo
from compliance.monitoring.services import monitoring_run
from orders.models import LedgerEntry, Order, TradingAccount
from orders.tests.fixtures import quote

pytestmark = pytest.mark.django_db


def test_the_demo_trips_every_rule_once(market, demo_officers, thin_stock):
    quote("INFY", bid="800.00", ask="800.05", prev="800.00")
    quote("SMALLCAP", bid="100.00", ask="100.05", prev="100.00")
    out = StringIO()
    demo.seed(stdout=out)
    rules = AlertRule.objects.filter(kind=AlertRule.Kind.MONITORING)
    raised = {r.code: Alert.objects.filter(rule=r).count() for r in rules}
    assert raised == dict.fromkeys(raised, 1), out.getvalue()
    assert len(raised) == 6
    assert "6 alert(s) raised" in out.getvalue()
    for code, *_, rule in demo.PARTIES:  # each scenario trips its own rule
        account = TradingAccount.objects.get(code=code)
        alert = Alert.objects.get(rule__code=rule)
        assert alert.client_id == account.client_id, rule
    assert not Order.objects.filter(status="REJECTED").exists()
    counts = Order.objects.count(), LedgerEntry.objects.count(), Alert.objects.count()
    again = StringIO()
    demo.seed(stdout=again)
    assert "already planted" in again.getvalue()
    assert sum(monitoring_run(day=_today()).values()) == 0
    assert (Order.objects.count(), LedgerEntry.objects.count(), Alert.objects.count()) == counts


def test_with_the_market_closed_the_demo_plants_nothing(market, settings, monkeypatch):
    settings.MARKETDATA_ALWAYS_OPEN = False
    monkeypatch.setattr(demo.calendar, "is_open", lambda *a: False)
    out = StringIO()
    demo.seed(stdout=out)
    assert "market is closed" in out.getvalue()
    assert not TradingAccount.objects.filter(code=demo.PARTIES[0][0]).exists()


def _today():
    from django.utils import timezone

    from marketdata.calendar import IST

    return timezone.localtime(timezone.now(), IST).date()
