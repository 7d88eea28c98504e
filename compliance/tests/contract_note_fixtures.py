"""Fixtures of contract notes: a day of fills of two clients, their notes, and a helper
that fills an order in parts."""

from decimal import Decimal

import pytest

from compliance.models import Client
from compliance.reports.services import contract_notes_generate
from orders.choices import LedgerKind
from orders.execution import execution_submit
from orders.models import TradingAccount
from orders.services import fill_apply, funds_move, order_place
from orders.tests.fixtures import request


def filled(account, symbol, price, parts):
    """A resting limit buy of ``account``, filled in ``parts`` at ``price``."""
    placed = order_place(
        account=account,
        request=request(symbol, order_type="LIMIT", price=Decimal(price), quantity=sum(parts)),
    ).order
    execution_submit(placed.pk)
    return [
        fill_apply(
            order=placed, broker_fill_id=f"{account.code}-{i}", quantity=q, price=Decimal(price)
        )
        for i, q in enumerate(parts, 1)
    ]


@pytest.fixture
def day_of_fills(account, kyc_application, settings, tmp_path):
    """Asha (KYC on file) with two fills of INFY, Ravi (no KYC application) with one of
    SMALLCAP; the demo signer made in a fresh data folder."""
    settings.DATA_DIR = tmp_path / "data"
    kyc_application(client=account.client)
    ravi = Client.objects.create(
        name="Ravi Iyer", pan="ABCPI5678M", kyc_status=Client.KycStatus.VERIFIED
    )
    other = TradingAccount.objects.create(code="TS0002", client=ravi)
    funds_move(account=other, kind=LedgerKind.DEPOSIT, amount=Decimal("100000.00"))
    fills = filled(account, "INFY", "1400.00", [4, 6]) + filled(other, "SMALLCAP", "100.00", [5])
    return fills[0].trade_date, fills


@pytest.fixture
def notes(day_of_fills):
    """The day's two notes: Asha's (KYC e-mail kyc@example.in) and Ravi's (no KYC)."""
    day, _ = day_of_fills
    made = contract_notes_generate(day=day)
    asha = next(r for r in made if r.client.name == "Asha Rao")
    ravi = next(r for r in made if r.client.name == "Ravi Iyer")
    return asha, ravi
