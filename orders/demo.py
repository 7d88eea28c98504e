"""Demo data of the orders app: clients onboarded through KYC, with funded trading accounts.

Their applications are approved here; ``compliance.kyc.demo`` then has the (fake) KRA
validate them, after which they trade.
"""

from datetime import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from compliance.kyc.choices import IncomeRange, IndianState, Occupation
from compliance.kyc.demo import client_onboard
from compliance.models import Client
from orders.choices import LedgerKind
from orders.models import LedgerEntry, TradingAccount
from orders.services import funds_move

#: account code, client name, PAN, users who act on it, opening deposit
DEMO_ACCOUNTS = [
    ("TS0001", "Asha Rao", "ABCPR1234K", ["trader", "client"], Decimal("1000000.00")),
    (
        "TS0002",
        "Quantum Alpha Capital",
        "AAACQ5678L",
        ["algo", "trader", "quant"],
        Decimal("5000000.00"),
    ),
]

#: What the demo companies declare beyond the defaults of ``compliance.kyc.demo``.
DEMO_KYC = {
    # Asha lives outside the broker's state (Maharashtra): her contract notes show IGST.
    "TS0001": {"address": "12 MG Road, Bengaluru 560001", "state": IndianState.KARNATAKA},
    "TS0002": {
        "occupation": Occupation.BUSINESS,
        "income_range": IncomeRange.ABOVE_1CR,
        "expected_annual_turnover": Decimal("500000000.00"),
    },
}


@transaction.atomic
def seed(*, stdout, reset_passwords: bool = False) -> None:
    users = get_user_model().objects
    for code, name, pan, usernames, deposit in DEMO_ACCOUNTS:
        client, made = Client.objects.get_or_create(
            pan_digest=Client.pan_index(pan), defaults={"pan": pan, "name": name}
        )
        if made:  # onboarded as a client is: verified by one officer, approved by another
            client_onboard(client=client, **DEMO_KYC.get(code, {}))
        account, created = TradingAccount.objects.get_or_create(
            code=code, defaults={"client": client}
        )
        account.users.add(*users.filter(username__in=usernames))
        if created:
            funds_move(
                account=account,
                kind=LedgerKind.DEPOSIT,
                amount=deposit,
                memo="opening deposit (demo)",
            )
            stdout.write(
                f"Account {code} for {name}: deposited {deposit}; "
                f"acting users {', '.join(usernames)}."
            )
        else:
            stdout.write(f"Account {code}: already present.")


def account_history_backdate(*, account: TradingAccount, to: datetime) -> None:
    """Demo data only: an account opened at ``to``, its postings so far made then, as if
    it had been with the broker that long (the transaction-monitoring demo's dormant
    account). Nothing outside a demo seeder calls this: the books are never rewritten."""
    TradingAccount.objects.filter(pk=account.pk).update(created_at=to)
    LedgerEntry.objects.filter(account=account).update(posted_at=to)
