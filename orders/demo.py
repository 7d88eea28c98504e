"""Demo data of the orders app: KYC-verified clients with funded trading accounts."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from compliance.models import Client
from orders.choices import LedgerKind
from orders.models import TradingAccount
from orders.services import funds_move

#: account code, client name, PAN, users who act on it, opening deposit
DEMO_ACCOUNTS = [
    ("TS0001", "Asha Rao", "ABCPR1234K", ["trader", "client"], Decimal("1000000.00")),
    ("TS0002", "Quantum Alpha Capital", "AAACQ5678L", ["algo", "trader"], Decimal("5000000.00")),
]


@transaction.atomic
def seed(*, stdout, reset_passwords: bool = False) -> None:
    users = get_user_model().objects
    for code, name, pan, usernames, deposit in DEMO_ACCOUNTS:
        client, _ = Client.objects.get_or_create(
            pan_digest=Client.pan_index(pan),
            defaults={
                "pan": pan,
                "name": name,
                "kyc_status": Client.KycStatus.VERIFIED,
                "kyc_verified_at": timezone.now(),
            },
        )
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
