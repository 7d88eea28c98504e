"""Kill switches and maker-checker: four eyes on every reset and every limit change."""

from decimal import Decimal

import pytest

from compliance.models import AuditEvent
from marketdata.models import Instrument
from orders.models import Order
from orders.services import order_place
from orders.tests.fixtures import request
from risk.choices import KillSwitchLevel, LimitKind, Scope
from risk.models import Breach, KillSwitch, LimitChange, RiskLimit
from risk.services import (
    FourEyesViolation,
    kill_switch_reset,
    kill_switch_trip,
    limit_decide,
    limit_propose,
)

pytestmark = pytest.mark.django_db


def test_a_limit_takes_effect_only_when_someone_else_approves(account, risk_managers):
    maker, checker = risk_managers
    change = limit_propose(
        actor=maker, scope=Scope.ACCOUNT, account=account, kind=LimitKind.MAX_ORDER_QUANTITY,
        value=Decimal(5), reason="new client",
    )  # fmt: skip
    assert not RiskLimit.objects.filter(kind=LimitKind.MAX_ORDER_QUANTITY).exists()
    with pytest.raises(FourEyesViolation, match="second risk manager"):
        limit_decide(change=change, actor=maker, approve=True)
    assert not RiskLimit.objects.filter(kind=LimitKind.MAX_ORDER_QUANTITY).exists()
    limit_decide(change=change, actor=checker, approve=True)
    limit = RiskLimit.objects.get(kind=LimitKind.MAX_ORDER_QUANTITY)
    assert (limit.value, limit.target, limit.change_id) == (
        Decimal(5),
        f"account:{account.pk}",
        change.pk,
    )
    actions = list(
        AuditEvent.objects.filter(object_type="risk.limitchange").values_list(
            "action", "actor_username"
        )
    )
    assert actions == [("risk.limit_proposed", "rina"), ("risk.limit_approved", "ravi")]


def test_a_rejected_change_changes_nothing_and_cannot_be_decided_twice(account, risk_managers):
    maker, checker = risk_managers
    change = limit_propose(
        actor=maker,
        scope=Scope.FIRM,
        kind=LimitKind.MAX_ORDER_VALUE,
        value=Decimal(1),
        reason="typo",
    )
    limit_decide(change=change, actor=checker, approve=False)
    assert LimitChange.objects.get(pk=change.pk).status == "rejected"
    assert not RiskLimit.objects.filter(kind=LimitKind.MAX_ORDER_VALUE).exists()
    with pytest.raises(ValueError, match="already rejected"):
        limit_decide(change=change, actor=checker, approve=True)


def test_removing_a_limit_also_needs_a_checker(account, risk_managers, set_limit):
    maker, checker = risk_managers
    set_limit(Scope.ACCOUNT, LimitKind.MAX_ORDER_QUANTITY, Decimal(5), account=account)
    change = limit_propose(
        actor=maker,
        scope=Scope.ACCOUNT,
        account=account,
        kind=LimitKind.MAX_ORDER_QUANTITY,
        remove=True,
        reason="lift",
    )
    assert RiskLimit.objects.filter(kind=LimitKind.MAX_ORDER_QUANTITY).exists()
    limit_decide(change=change, actor=checker, approve=True)
    assert not RiskLimit.objects.filter(kind=LimitKind.MAX_ORDER_QUANTITY).exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": LimitKind.MAX_ORDER_QUANTITY, "value": Decimal(-1)}, "a value of zero or more"),
        ({"kind": LimitKind.MAX_ORDER_QUANTITY}, "a value of zero or more"),
        ({"kind": LimitKind.ALLOWED_PRODUCTS}, "needs products"),
    ],
)
def test_malformed_proposals_are_refused(risk_managers, kwargs, message):
    with pytest.raises(ValueError, match=message):
        limit_propose(actor=risk_managers[0], scope=Scope.FIRM, reason="x", **kwargs)
    assert not LimitChange.objects.exists()


def test_an_account_kill_switch_cancels_open_orders_and_blocks_new_ones(
    account, risk_managers, place, django_capture_on_commit_callbacks
):
    tripper, other = risk_managers
    resting = [place(account, order_type="LIMIT", price=Decimal("1400.00")) for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):  # the broker confirms after commit
        switch, cancelled = kill_switch_trip(
            level=KillSwitchLevel.ACCOUNT, account=account, actor=tripper, reason="runaway algo"
        )
        # Each cancel is sent to the broker; until it confirms, the order's funds stay blocked.
        assert set(Order.objects.filter(pk__in=cancelled).values_list("status", flat=True)) == {
            "CANCEL_PENDING"
        }
    assert sorted(cancelled) == sorted(o.pk for o in resting)
    assert set(Order.objects.filter(pk__in=cancelled).values_list("status", flat=True)) == {
        "CANCELLED"
    }
    blocked = place(account, quantity=1)
    assert blocked.rejection_reasons[0]["code"] == "KILL_SWITCH"
    assert "runaway algo" in blocked.rejection_reasons[0]["message"]

    with pytest.raises(FourEyesViolation, match="not the one who tripped it"):
        kill_switch_reset(switch=switch, actor=tripper)
    assert place(account, quantity=1).status == "REJECTED"
    kill_switch_reset(switch=switch, actor=other)
    assert place(account, quantity=1).status == "COMPLETE"
    actions = list(
        AuditEvent.objects.filter(object_type="risk.killswitch").values_list("action", flat=True)
    )
    assert actions == ["risk.kill_switch_tripped", "risk.kill_switch_reset"]


@pytest.mark.parametrize("level", [KillSwitchLevel.GLOBAL, KillSwitchLevel.INSTRUMENT])
def test_global_and_instrument_switches(account, risk_managers, place, level):
    target = (
        {"instrument": Instrument.objects.get(tradingsymbol="INFY")}
        if level == KillSwitchLevel.INSTRUMENT
        else {}
    )
    kill_switch_trip(level=level, actor=risk_managers[0], reason="exchange glitch", **target)
    assert place(account, quantity=1).rejection_reasons[0]["code"] == "KILL_SWITCH"
    other = place(account, symbol="SMALLCAP", quantity=1)
    assert (other.status == "REJECTED") is (level == KillSwitchLevel.GLOBAL)


def test_an_algo_switch_stops_that_algo_only(account, risk_managers):
    kill_switch_trip(
        level=KillSwitchLevel.ALGO, algo_id="ALGO9", actor=risk_managers[0], reason="bad signal"
    )
    algo = order_place(account=account, request=request(quantity=1, algo_id="ALGO9")).order
    manual = order_place(account=account, request=request(quantity=1)).order
    assert algo.rejection_reasons[0]["code"] == "KILL_SWITCH"
    assert manual.status != "REJECTED"


def test_an_automatic_trip_can_be_reset_by_any_risk_manager(account, risk_managers):
    switch, _ = kill_switch_trip(
        level=KillSwitchLevel.ACCOUNT, account=account, reason="daily loss breached"
    )
    assert switch.tripped_by is None
    kill_switch_reset(switch=switch, actor=risk_managers[0])
    with pytest.raises(ValueError, match="already reset"):
        kill_switch_reset(switch=switch, actor=risk_managers[1])


def test_the_admin_proposes_approves_trips_and_resets_through_the_services(
    client, risk_managers, account, otp_login
):
    from django.test import Client

    rina, ravi = risk_managers
    otp_login(client, rina)
    client.post(
        "/admin/risk/limitchange/add/",
        {
            "scope": "firm",
            "kind": "max_order_value",
            "value": "100000",
            "products": "",
            "reason": "cap",
        },
    )
    change = LimitChange.objects.get()
    assert (change.status, change.proposed_by) == ("proposed", rina)
    page = client.post(
        "/admin/risk/limitchange/",
        {"action": "approve_changes", "_selected_action": [change.pk]},
        follow=True,
    )
    assert "second risk manager" in page.content.decode()
    other = Client()
    otp_login(other, ravi)
    other.post(
        "/admin/risk/limitchange/", {"action": "approve_changes", "_selected_action": [change.pk]}
    )
    assert RiskLimit.objects.get(kind="max_order_value").value == Decimal("100000")

    client.post(
        "/admin/risk/killswitch/add/",
        {"level": "global", "mode": "halt", "reason": "fat finger storm", "algo_id": ""},
    )
    switch = KillSwitch.objects.get()
    assert switch.active
    other.post(
        "/admin/risk/killswitch/", {"action": "reset_switches", "_selected_action": [switch.pk]}
    )
    switch.refresh_from_db()
    assert (switch.active, switch.reset_by) == (False, ravi)


def _resting(account, n: int, algo_id: str = "") -> list[Order]:
    """``n`` open orders placed just now, as a fast sender would have."""
    return [
        order_place(
            account=account,
            request=request(
                order_type="LIMIT", price=Decimal("1400.00"), quantity=1, algo_id=algo_id
            ),
        ).order
        for _ in range(n)
    ]


def test_an_order_rate_breach_halts_the_account_and_cancels_its_orders(
    account, django_capture_on_commit_callbacks
):
    resting = _resting(account, 10)  # the firm's default: 10 a second
    with django_capture_on_commit_callbacks(execute=True):
        eleventh = order_place(account=account, request=request(quantity=1)).order
    assert [r["code"] for r in eleventh.rejection_reasons] == ["ORDER_RATE"]
    switch = KillSwitch.objects.get()
    assert (switch.level, switch.account, switch.tripped_by) == ("account", account, None)
    assert "order rate above 10 per second" in switch.reason
    breach = Breach.objects.get()
    assert (breach.source, breach.kind, breach.limit, breach.value, breach.kill_switch) == (
        "pre_trade", "order_rate_per_second", Decimal(10), Decimal(11), switch,
    )  # fmt: skip
    assert {o.status for o in Order.objects.filter(pk__in=[o.pk for o in resting])} == {"CANCELLED"}
    with django_capture_on_commit_callbacks(execute=True):
        later = order_place(account=account, request=request(quantity=1)).order
    assert next(r["code"] for r in later.rejection_reasons) == "KILL_SWITCH"
    assert KillSwitch.objects.count() == 1  # a persisting breach trips once


def test_an_algo_rate_breach_halts_that_algo_only(account, django_capture_on_commit_callbacks):
    _resting(account, 10, algo_id="MOMO1")
    with django_capture_on_commit_callbacks(execute=True):
        order_place(account=account, request=request(quantity=1, algo_id="MOMO1"))
    switch = KillSwitch.objects.get(level=KillSwitchLevel.ALGO)
    assert switch.algo_id == "MOMO1"
    assert not Order.objects.filter(algo_id="MOMO1", status="OPEN").exists()


def test_what_if_never_trips(account, api_client, user_in_role):
    _resting(account, 10)
    from orders.services import order_what_if

    assessment = order_what_if(account=account, request=request(quantity=1))
    assert "ORDER_RATE" in {r.code for r in assessment.rejections}
    assert not KillSwitch.objects.exists()
    assert not Breach.objects.exists()


def test_the_exposure_view_shows_figures_and_trips_accounts(
    client,
    account,
    risk_managers,
    set_limit,
    user_in_role,
    django_capture_on_commit_callbacks,
    otp_login,
):
    with django_capture_on_commit_callbacks(execute=True):
        order_place(account=account, request=request(product="MIS", quantity=100))
    resting = _resting(account, 1)[0]
    set_limit(Scope.ACCOUNT, LimitKind.MAX_GROSS_EXPOSURE, Decimal("500000"), account=account)
    otp_login(client, risk_managers[0])
    page = client.get("/admin/risk/accountexposure/").content.decode()
    assert "TS0001" in page
    assert "150000.00 / 500000.00" in page  # 100 x 1500.00, against the limit
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/risk/accountexposure/",
            {"action": "trip_account_switches", "_selected_action": [account.pk]},
        )
    assert KillSwitch.objects.get().tripped_by == risk_managers[0]
    assert Order.objects.get(pk=resting.pk).status == "CANCELLED"
    otp_login(client, user_in_role("Auditor"))  # sees, cannot trip
    page = client.get("/admin/risk/accountexposure/").content.decode()
    assert "TS0001" in page
    assert "trip_account_switches" not in page
    otp_login(client, user_in_role("Operations"))
    assert client.get("/admin/risk/accountexposure/").status_code == 403
    assert client.get("/admin/risk/breach/").status_code == 403


def test_the_breaches_list(client, account, risk_managers, otp_login):
    kill_switch_trip(
        level=KillSwitchLevel.ACCOUNT,
        account=account,
        reason="monitor",
        breaches=[(LimitKind.MAX_DAILY_LOSS, Decimal("1000"), Decimal("2005.00"))],
    )
    otp_login(client, risk_managers[1])
    page = client.get("/admin/risk/breach/").content.decode()
    assert "2005.00" in page
    assert "TS0001" in page
    assert client.get(f"/admin/risk/breach/{Breach.objects.get().pk}/delete/").status_code == 403
