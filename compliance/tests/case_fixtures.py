"""Fixtures of the case tests: open alerts on a client, officers, and a case worked up to
a closure waiting for its second officer (a plugin: see conftest.py)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from compliance.alerts.models import Alert, AlertRule
from compliance.alerts.services import alert_raise
from compliance.cases.services import case_close_request, case_move, case_open, str_draft
from compliance.models import Client
from orders.choices import LedgerKind
from orders.models import TradingAccount
from orders.services import funds_move


@pytest.fixture(autouse=True)
def compliance_files_dir(settings, tmp_path):
    """Filed STRs go to a fresh folder for each test (the ``compliance`` storage)."""
    folder = tmp_path / "compliance-files"
    settings.STORAGES = {
        **settings.STORAGES,
        "compliance": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder)},
        },
    }
    return folder


@pytest.fixture
def case_officers(user_in_role):
    """Three compliance officers: asha works cases, bala is the second officer, chitra a
    third; each with an e-mail (STR reminders go to them)."""
    made = []
    for name in ("asha", "bala", "chitra"):
        user = user_in_role("Compliance Officer", f"{name}_co")
        user.email = f"{name}@example.in"
        user.save(update_fields=["email"])
        made.append(user)
    return made


@pytest.fixture
def suspect(db) -> TradingAccount:
    """A client with a funded account and a deposit on the ledger."""
    client = Client.objects.create(
        name="Vikram Shah", pan="ABCPS4321K", kyc_status=Client.KycStatus.VERIFIED
    )
    account = TradingAccount.objects.create(code="TS0901", client=client)
    funds_move(account=account, kind=LedgerKind.DEPOSIT, amount=Decimal("490000.00"))
    return account


@pytest.fixture
def open_alerts(suspect):
    """Two open alerts on the suspect: a wash trade (high) and a spoofing one (medium), the
    first pointing at the suspect's deposit."""
    deposit = suspect.ledger.get()
    end = timezone.now()
    window = (end - dt.timedelta(hours=6), end)
    client_id = suspect.client_id
    rules = {
        code: AlertRule.objects.get_or_create(  # a transactional test has flushed the rows
            code=code, defaults={"kind": AlertRule.Kind.SURVEILLANCE, "name": code}
        )[0]
        for code in ("wash_trade", "spoofing")
    }
    return [
        alert_raise(
            rule=rules["wash_trade"], subject_key=f"client:{client_id}",
            window=window, summary="INFY: both sides", priority=Alert.Priority.HIGH,
            client_id=client_id, account_id=suspect.pk,
            evidence=[{"kind": "ledger", "id": deposit.pk}],
        ),
        alert_raise(
            rule=rules["spoofing"], subject_key=f"client:{client_id}",
            window=window, summary="INFY: placed and cancelled 5000", client_id=client_id,
        ),
    ]  # fmt: skip


@pytest.fixture
def worked_case(case_officers, open_alerts):
    """``worked_case(outcome="no_action" | "str_filed")``: a case asha opened, reviewed
    (escalated and its STR drafted, for an STR) and proposed for closure."""
    asha = case_officers[0]

    def make(outcome: str = "no_action"):
        case = case_open(title="Vikram Shah: wash and spoof", actor=asha, alerts=open_alerts)
        case = case_move(case=case, move="review", actor=asha)
        if outcome == "str_filed":
            case = case_move(case=case, move="escalate", actor=asha, reason="both patterns")
            str_draft(
                case=case, actor=asha, grounds="Self trades in INFY & spoof orders.",
                categories=["market_abuse"], action_taken="Accounts under watch",
            )  # fmt: skip
        return case_close_request(case=case, actor=asha, outcome=outcome, reason="worked")

    return make
