"""Kill switch modes: HALT cancels and refuses everything; REDUCE-ONLY keeps the orders that
protect a position and accepts only orders that cannot grow or flip it."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from compliance.models import AuditEvent
from orders.services import order_cancel
from risk.checks import reduces_exposure
from risk.choices import KillSwitchLevel, KillSwitchMode
from risk.services import kill_switch_trip

pytestmark = pytest.mark.django_db


@pytest.fixture
def long_ten(account, place):
    """Long 10 INFY intraday, with a protective stop, a buy, and a sell that would flip it."""
    bought = place(account, product="MIS", quantity=10)
    assert bought.status == "COMPLETE"
    mis = {"product": "MIS"}
    return {
        "stop": place(account, side="SELL", order_type="SL-M", trigger_price=Decimal("1450.00"), quantity=10, **mis),
        "buy": place(account, order_type="LIMIT", price=Decimal("1400.00"), quantity=5, **mis),
        "flip": place(account, side="SELL", order_type="LIMIT", price=Decimal("1600.00"), quantity=20, **mis),
    }  # fmt: skip


@pytest.mark.parametrize(
    ("side", "quantity", "net", "reduces"),
    [
        ("SELL", 10, 10, True),
        ("SELL", 11, 10, False),  # would flip to short
        ("BUY", 1, 10, False),  # adds to a long
        ("BUY", 5, -5, True),
        ("BUY", 6, -5, False),
        ("SELL", 1, 0, False),  # flat: anything opens a position
    ],
)
def test_an_order_reduces_only_if_it_cannot_grow_or_flip_the_position(side, quantity, net, reduces):
    assert reduces_exposure(side=side, quantity=quantity, net=net) is reduces


def test_halt_is_the_default_and_cancels_the_protective_stop_too(account, long_ten):
    switch, cancelled = kill_switch_trip(
        level=KillSwitchLevel.ACCOUNT, account=account, reason="runaway"
    )
    assert switch.mode == KillSwitchMode.HALT
    assert sorted(cancelled) == sorted(o.pk for o in long_ten.values())


def test_reduce_only_keeps_the_stop_and_cancels_what_would_add_or_flip(account, long_ten):
    switch, cancelled = kill_switch_trip(
        level=KillSwitchLevel.ACCOUNT,
        account=account,
        reason="loss",
        mode=KillSwitchMode.REDUCE_ONLY,
    )
    assert sorted(cancelled) == sorted([long_ten["buy"].pk, long_ten["flip"].pk])
    long_ten["stop"].refresh_from_db()
    assert long_ten["stop"].status == "TRIGGER_PENDING"
    trip = AuditEvent.objects.get(action="risk.kill_switch_tripped", object_id=str(switch.pk))
    assert trip.after["mode"] == "reduce_only"


def test_reduce_only_refuses_new_orders_that_would_grow_or_flip(
    account, long_ten, place, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        kill_switch_trip(
            level=KillSwitchLevel.ACCOUNT,
            account=account,
            reason="loss",
            mode=KillSwitchMode.REDUCE_ONLY,
        )
    buy = place(account, product="MIS", quantity=1)
    assert buy.status == "REJECTED"
    assert "only orders that reduce exposure" in buy.rejection_reasons[0]["message"]
    # The stop already covers the 10 shares: another sell could leave the account short.
    assert place(account, side="SELL", product="MIS", quantity=1).status == "REJECTED"
    order_cancel(order=long_ten["stop"], reason="replace the stop")
    # Until the broker confirms, the stop may still fill: it still covers the 10 shares.
    assert place(account, side="SELL", product="MIS", quantity=10).status == "REJECTED"
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(order=long_ten["stop"], reason="replace the stop")  # sent again, answered
    assert place(account, side="SELL", product="MIS", quantity=11).status == "REJECTED"
    close = place(account, side="SELL", product="MIS", quantity=10)
    assert close.status == "COMPLETE"


def test_halt_refuses_even_an_order_that_would_close_the_position(account, long_ten, place):
    kill_switch_trip(level=KillSwitchLevel.ACCOUNT, account=account, reason="runaway")
    assert place(account, side="SELL", product="MIS", quantity=10).status == "REJECTED"


def test_the_api_trips_in_the_chosen_mode_and_refuses_an_unknown_one(
    account, long_ten, risk_managers
):
    rina = APIClient()
    rina.force_authenticate(risk_managers[0])
    body = {"level": "account", "account": "TS0001", "reason": "loss", "mode": "reduce_only"}
    answer = rina.post("/api/v1/risk/kill-switches", body, format="json")
    assert answer.status_code == 201
    assert answer.json()["kill_switch"]["mode"] == "reduce_only"
    assert long_ten["stop"].pk not in answer.json()["cancelled_orders"]
    wrong = rina.post("/api/v1/risk/kill-switches", {**body, "mode": "pause"}, format="json")
    assert wrong.status_code == 400
    assert "mode" in wrong.json()["errors"]


def test_the_admin_trips_in_the_chosen_mode(
    account, long_ten, risk_managers, otp_login, client, django_capture_on_commit_callbacks
):
    otp_login(client, risk_managers[0])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/risk/killswitch/add/",
            {"level": "account", "mode": "reduce_only", "account": account.pk, "reason": "loss"},
        )
    long_ten["stop"].refresh_from_db()
    long_ten["buy"].refresh_from_db()
    assert (long_ten["stop"].status, long_ten["buy"].status) == ("TRIGGER_PENDING", "CANCELLED")
    page = client.get("/admin/risk/accountexposure/").content.decode()
    assert "Reduce only" in page


def test_a_protective_stop_cannot_be_grown_under_reduce_only(
    account, long_ten, django_capture_on_commit_callbacks
):
    from orders.services import ModifyRejected, order_modify

    with django_capture_on_commit_callbacks(execute=True):
        kill_switch_trip(
            level=KillSwitchLevel.ACCOUNT,
            account=account,
            reason="loss",
            mode=KillSwitchMode.REDUCE_ONLY,
        )
    with pytest.raises(ModifyRejected, match="only orders that reduce exposure"):
        order_modify(order=long_ten["stop"], quantity=15)
    with django_capture_on_commit_callbacks(execute=True):
        order_modify(order=long_ten["stop"], trigger_price=Decimal("1460.00"))
    moved = long_ten["stop"]
    moved.refresh_from_db()
    assert (moved.quantity, moved.trigger_price) == (10, Decimal("1460.00"))
