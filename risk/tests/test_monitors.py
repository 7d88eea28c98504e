"""Post-trade monitors: the snapshot's figures, and an automatic trip on a breach (once)."""

from decimal import Decimal

import pytest
from prometheus_client import REGISTRY

from orders.models import Order
from orders.services import order_place
from orders.tests.fixtures import quote, request
from risk.choices import LimitKind, Scope
from risk.models import Breach, KillSwitch
from risk.monitors import account_snapshot, monitors_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def long_intraday(account, django_capture_on_commit_callbacks):
    """100 MIS shares bought at 1500.05."""
    with django_capture_on_commit_callbacks(execute=True):
        order_place(account=account, request=request(product="MIS", quantity=100))
    return account


def test_snapshot_marks_to_market(long_intraday):
    quote(bid="1490.00", ask="1490.05")
    snapshot = account_snapshot(long_intraday)
    assert snapshot.mark_to_market == Decimal("-1005.00")  # 100 x (1490.00 - 1500.05)
    assert snapshot.day_pnl == snapshot.mark_to_market + snapshot.realized_and_charges
    assert snapshot.realized_and_charges < 0  # the buy's charges
    assert (snapshot.gross_exposure, snapshot.net_exposure, snapshot.open_positions) == (
        Decimal("149000.00"), Decimal("149000.00"), 1,
    )  # fmt: skip
    assert snapshot.breaches == []


def test_a_daily_loss_breach_trips_the_kill_switch_once(
    long_intraday, set_limit, django_capture_on_commit_callbacks
):
    set_limit(Scope.ACCOUNT, LimitKind.MAX_DAILY_LOSS, Decimal("1000"), account=long_intraday)
    with django_capture_on_commit_callbacks(execute=True):
        resting = order_place(
            account=long_intraday, request=request(order_type="LIMIT", price=Decimal("1400.00"))
        ).order
    before = REGISTRY.get_sample_value("risk_breaches_total", {"kind": "max_daily_loss"}) or 0
    quote(bid="1480.00", ask="1480.05")  # about 2005 down
    with django_capture_on_commit_callbacks(execute=True):  # the broker confirms the cancel
        assert monitors_run()["tripped"] == ["TS0001"]
    switch = KillSwitch.objects.get()
    assert (switch.level, switch.tripped_by) == ("account", None)
    assert "max_daily_loss" in switch.reason
    assert Order.objects.get(pk=resting.pk).status == "CANCELLED"
    assert (
        REGISTRY.get_sample_value("risk_breaches_total", {"kind": "max_daily_loss"}) == before + 1
    )
    breach = Breach.objects.get()
    assert (breach.source, breach.kind, breach.account, breach.kill_switch) == (
        "monitor", "max_daily_loss", long_intraday, switch,
    )  # fmt: skip
    assert breach.limit == Decimal("1000")
    assert breach.value > breach.limit
    assert monitors_run()["tripped"] == []  # already tripped
    assert (KillSwitch.objects.count(), Breach.objects.count()) == (1, 1)


def test_no_breach_no_trip(long_intraday, set_limit):
    set_limit(Scope.ACCOUNT, LimitKind.MAX_GROSS_EXPOSURE, Decimal("200000"), account=long_intraday)
    assert monitors_run() == {"checked": 1, "tripped": []}


def test_snapshot_api(api_client, long_intraday, user_in_role):
    api_client.force_authenticate(user_in_role("Risk Manager"))
    body = api_client.get("/api/v1/risk/accounts/TS0001").json()
    assert body["account"] == "TS0001"
    assert body["open_positions"] == 1
    api_client.force_authenticate(user_in_role("Trader", "unlinked"))
    assert api_client.get("/api/v1/risk/accounts/TS0001").status_code == 404
