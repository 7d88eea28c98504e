"""The risk desk's admin speaks the desk's language: limits by account code, values as
written, and only halted accounts marked as halted."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client as WebClient

from orders.models import TradingAccount
from risk.choices import KillSwitchLevel, LimitKind, Scope
from risk.models import KillSwitch, LimitChange
from risk.services import kill_switch_trip, limit_propose

pytestmark = pytest.mark.django_db


def test_a_limit_change_reads_as_the_desk_says_it(account, risk_managers, otp_login, client):
    rina, ravi = risk_managers
    change = limit_propose(
        actor=rina, scope=Scope.ACCOUNT, account=account, kind=LimitKind.MAX_ORDER_QUANTITY,
        value=Decimal(100), reason="new client",
    )  # fmt: skip
    assert str(change) == "Max order quantity for TS0001: 100 (proposed)"
    otp_login(client, ravi)
    page = client.post(
        "/admin/risk/limitchange/",
        {"action": "approve_changes", "_selected_action": [change.pk]},
        follow=True,
    ).content.decode()
    assert "Max order quantity for TS0001: 100 (approved)" in page
    assert "account:" not in page
    assert "-&gt;" not in page
    limits = client.get("/admin/risk/risklimit/").content.decode()
    assert '/change/">TS0001</a></th>' in limits
    assert f"account:{account.pk}" not in limits


@pytest.mark.parametrize(
    ("scope", "targets", "label"),
    [
        (Scope.FIRM, {}, "Max order value (Rs) for the firm: 250000.50 (proposed)"),
        (Scope.ACCOUNT_INSTRUMENT, {"instrument": True}, "Max order value (Rs) for TS0001 in NSE:INFY: 250000.50 (proposed)"),
    ],
)  # fmt: skip
def test_every_scope_is_named(account, market, risk_managers, scope, targets, label):
    extra = {"account": account, "instrument": market["INFY"]} if targets else {}
    change = limit_propose(
        actor=risk_managers[0], scope=scope, kind=LimitKind.MAX_ORDER_VALUE,
        value=Decimal("250000.50"), reason="cap", **extra,
    )  # fmt: skip
    assert str(change) == label
    removal = LimitChange(scope=Scope.FIRM, kind=LimitKind.ALLOWED_PRODUCTS, remove=True)
    assert str(removal) == "Allowed products for the firm: remove (proposed)"


def test_only_halted_accounts_are_marked_halted(account, risk_managers, otp_login):
    calm = TradingAccount.objects.create(code="TS0002", client=account.client)
    kill_switch_trip(level=KillSwitchLevel.ACCOUNT, account=account, reason="runaway")
    web = otp_login(WebClient(), risk_managers[0])
    page = web.get("/admin/risk/accountexposure/").content.decode()
    rows = {
        code: page.split(f">{code}<", 1)[1].split("</tr>", 1)[0] for code in ("TS0001", "TS0002")
    }
    assert "Halted" in rows["TS0001"]
    assert "Halted" not in rows[calm.code]
    assert "icon-no" not in page
    assert "icon-yes" not in page.split("field-halted")[1]
    assert str(KillSwitch.objects.get()) == "Kill switch on TS0001 (Halt)"


def test_an_account_leaves_a_desk_with_limits_only_under_four_eyes(
    account, risk_managers, set_limit, otp_login
):
    """Leaving the desk would lift its limits: refused in the admin's form and in code."""
    from risk.models import Desk
    from risk.services import FourEyesViolation

    desk = Desk.objects.create(name="Equities")
    desk.accounts.add(account)
    other = TradingAccount.objects.create(code="TS0002", client=account.client)
    web = otp_login(WebClient(), risk_managers[0])
    joined = web.post(
        f"/admin/risk/desk/{desk.pk}/change/",
        {"name": "Equities", "accounts": [account.pk, other.pk]},
    )
    assert joined.status_code == 302  # joining only tightens: no desk limits yet anyway
    set_limit(Scope.DESK, LimitKind.MAX_ORDER_QUANTITY, Decimal(5), desk=desk)
    page = web.post(
        f"/admin/risk/desk/{desk.pk}/change/", {"name": "Equities", "accounts": [other.pk]}
    )
    assert page.status_code == 200
    assert "TS0001 cannot leave desk Equities" in page.content.decode()
    with pytest.raises(FourEyesViolation, match="second risk manager"), transaction.atomic():
        desk.accounts.remove(account)
    with pytest.raises(FourEyesViolation), transaction.atomic():
        account.desks.clear()
    with pytest.raises(FourEyesViolation), transaction.atomic():
        desk.accounts.set([other])
    assert set(desk.accounts.all()) == {account, other}
