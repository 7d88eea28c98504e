"""Trading waits for KYC: approved and KRA validated; an overdue re-KYC stops new positions
but lets the client close or reduce what they hold."""

import datetime as dt

import pytest
from django.utils import timezone

from compliance.kyc.kra import FakeKra
from compliance.kyc.services import kyc_approve, kyc_kra_sync
from compliance.models import Client
from marketdata.models import Instrument
from orders.models import Holding
from orders.services import order_place
from orders.tests.fixtures import request

pytestmark = pytest.mark.django_db


def codes(placed) -> set[str]:
    return {r["code"] for r in placed.order.rejection_reasons}


def test_trading_is_refused_until_approved_and_validated_by_the_kra(
    account, kyc_application, officers
):
    FakeKra().forget(account.client.pan)
    Client.objects.filter(pk=account.client_id).update(kyc_status=Client.KycStatus.PENDING)
    account.client.refresh_from_db()
    application = kyc_application(client=account.client, step="verified")
    assert "KYC_NOT_VERIFIED" in codes(order_place(account=account, request=request(quantity=1)))

    application = kyc_approve(application=application, actor=officers[1])
    placed = order_place(account=account, request=request(quantity=1))
    assert "KYC_NOT_VERIFIED" in codes(placed)
    assert "approved; kra not yet validated" in placed.order.rejection_reasons[0]["message"]

    kyc_kra_sync(application=application)  # uploaded: Under Process
    placed = order_place(account=account, request=request(quantity=1))
    assert "KRA status Under Process" in placed.order.rejection_reasons[0]["message"]

    kyc_kra_sync(application=application)  # KYC Validated
    assert order_place(account=account, request=request(quantity=1)).order.status != "REJECTED"


def test_an_overdue_rekyc_refuses_a_new_position_but_allows_reducing_one(account):
    infy = Instrument.objects.get(tradingsymbol="INFY")
    Holding.objects.create(account=account, instrument=infy, quantity=10)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    Client.objects.filter(pk=account.client_id).update(rekyc_due_on=yesterday)
    account.refresh_from_db()

    buy = order_place(account=account, request=request(quantity=1))
    assert codes(buy) == {"REKYC_OVERDUE"}
    assert buy.order.rejection_reasons[0]["limit"] == str(yesterday)
    oversell = order_place(
        account=account, request=request(side="SELL", quantity=11, client_order_id="s1")
    )
    assert "REKYC_OVERDUE" in codes(oversell)  # more than held: it would open a short

    sell = order_place(
        account=account, request=request(side="SELL", quantity=10, client_order_id="s2")
    )
    assert sell.order.status != "REJECTED", sell.order.rejection_reasons


def test_a_rekyc_due_today_is_not_yet_overdue(account):
    Client.objects.filter(pk=account.client_id).update(rekyc_due_on=timezone.localdate())
    account.refresh_from_db()
    assert order_place(account=account, request=request(quantity=1)).order.status != "REJECTED"
