"""Demo data of AML screening: a small UN-format list and a PEP list (fictional people),
and two demo clients they hit: one a true match, one a false positive, for the compliance
officer to dispose in the admin (Compliance > Screening hits).

Running it again changes nothing: a list file already imported is not imported twice, and
a hit already raised or disposed is not raised again.
"""

from pathlib import Path

from django.db import transaction
from django.utils import timezone

from compliance.models import Client
from compliance.screening.models import ListVersion
from compliance.screening.services import client_screen, screening_list_import
from orders.models import TradingAccount

DATA = Path(__file__).parent / "data"
LISTS = [("un", DATA / "demo_un.xml"), ("pep", DATA / "demo_pep.csv")]
#: account code, client name, PAN, what the officer should find
DEMO_CLIENTS = [
    ("TS0091", "Mohd Rafiq Qureshi", "BMRPQ4455K", "true match on UN QDi.901"),
    ("TS0092", "Sanjay Verma", "CSVPV7788L", "false positive on PEP-0001 (another Sanjay Verma)"),
]


def seed(*, stdout, reset_passwords: bool = False) -> None:
    import hashlib

    for code, path in LISTS:
        data = path.read_bytes()
        if ListVersion.objects.filter(
            screening_list__code=code, sha256=hashlib.sha256(data).hexdigest()
        ).exists():
            stdout.write(f"Screening list {code}: {path.name} already imported.")
            continue
        version = screening_list_import(list_code=code, data=data, source=path.name)
        stdout.write(f"Screening list {version}: {version.entry_count} entries from {path.name}.")
    for account_code, name, pan, expected in DEMO_CLIENTS:
        with transaction.atomic():
            client, _ = Client.objects.get_or_create(
                pan_digest=Client.pan_index(pan),
                defaults={
                    "pan": pan,
                    "name": name,
                    "kyc_status": Client.KycStatus.VERIFIED,
                    "kyc_verified_at": timezone.now(),
                },
            )
            TradingAccount.objects.get_or_create(code=account_code, defaults={"client": client})
        raised = client_screen(client=client)
        state = f"{len(raised)} hit(s) raised" if raised else "hits already raised or disposed"
        stdout.write(f"Screening: {name} ({account_code}), expected {expected}: {state}.")
