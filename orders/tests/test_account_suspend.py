"""Suspending a trading account: audited on its chain, its orders refused (its working ones
cancelled: compliance/tests/test_screening_hits.py), and a second
suspension (or one of a closed account) changes nothing."""

from compliance.models import AuditEvent
from orders.models import TradingAccount
from orders.services import account_suspend, order_place
from orders.tests.fixtures import request


def test_suspend_refuses_orders_and_is_audited_once(account):
    suspended = account_suspend(account=account, reason="AML true match")
    assert suspended.status == TradingAccount.Status.SUSPENDED
    (event,) = AuditEvent.objects.filter(action="account.suspended")
    assert event.chain == f"account:{account.pk}"
    assert event.before == {"status": "active"}
    assert event.after == {
        "status": "suspended",
        "reason": "AML true match",
        "orders_cancelled": [],
    }
    placed = order_place(account=account, request=request())
    assert placed.order.status == "REJECTED"
    assert "ACCOUNT_NOT_ACTIVE" in {r["code"] for r in placed.order.rejection_reasons}
    account_suspend(account=account, reason="again")
    assert AuditEvent.objects.filter(action="account.suspended").count() == 1


def test_a_closed_account_stays_closed(account):
    TradingAccount.objects.filter(pk=account.pk).update(status=TradingAccount.Status.CLOSED)
    assert account_suspend(account=account, reason="x").status == TradingAccount.Status.CLOSED
    assert not AuditEvent.objects.filter(action="account.suspended").exists()
