"""Demo data of KYC: applications in every state, worked through the services by the demo
compliance officers ``compliance`` and ``compliance2``.

Sumit Mehta's application waits in the queue verified by ``compliance2``, so ``compliance``
signs in and approves it (a colleague's verification: maker-checker). The trading demo's own
clients (``orders.demo``) are onboarded through :func:`client_onboard`; this seeder then asks
the fake KRA about every approved application (outside any transaction), which validates them.
"""

import datetime as dt
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile

from compliance.kyc.choices import (
    REQUIRED_DOCUMENTS,
    ApplicationStatus,
    IncomeRange,
    IndianState,
    Occupation,
)
from compliance.kyc.models import KycApplication
from compliance.kyc.selectors import kyc_awaiting_kra
from compliance.kyc.services import (
    kyc_application_create,
    kyc_approve,
    kyc_document_upload,
    kyc_hold,
    kyc_ipv_record,
    kyc_kra_sync,
    kyc_reject,
    kyc_review_start,
    kyc_submit,
    kyc_verify,
)
from compliance.models import Client

S = ApplicationStatus
MAKER, CHECKER = "compliance2", "compliance"

#: A one-page PDF: what a scanned document looks like to the content check.
DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]"
    b"/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)

#: name, PAN, the state it is left in, what it declares beyond the defaults
DEMO_APPLICATIONS = [
    ("Neha Kulkarni", "BNZPK2345M", S.DRAFT, {}),
    ("Arjun Nair", "CQRPN3456P", S.SUBMITTED, {}),
    ("Fatima Sheikh", "DKLPS4567Q", S.UNDER_REVIEW, {"occupation": Occupation.BUSINESS}),
    ("Vikram Singh", "EMNPS5678R", S.ON_HOLD, {}),
    ("Sumit Mehta", "FGHPM6789S", S.VERIFIED, {"pep": True}),
    ("Lakshmi Iyer", "GHJPI7890T", S.APPROVED, {"income_range": IncomeRange.ABOVE_1CR}),
    ("Rahul Verma", "HJKPV8901U", S.REJECTED, {}),
    ("Deepak Joshi", "JKLPJ0001V", S.APPROVED, {}),  # the fake KRA puts 0001 on hold
]


def declared(**overrides) -> dict:
    return {
        "date_of_birth": dt.date(1985, 3, 14),
        "aadhaar_last4": "1234",
        "address": "Flat 4B, Sea View, Marine Drive, Mumbai 400002",
        "state": IndianState.MAHARASHTRA,
        "mobile": "9820012345",
        "email": "client@demo.tradingsite.in",
        "bank_account_number": "50100234567890",
        "bank_ifsc": "HDFC0000060",
        "income_range": IncomeRange.L10_25,
        "occupation": Occupation.PRIVATE_SECTOR,
        "net_worth": Decimal("4000000.00"),
        "expected_annual_turnover": Decimal("6000000.00"),
        "nominee_name": "Nominee of the client",
        "nominee_relation": "Spouse",
        **overrides,
    }


def _officers():
    users = get_user_model().objects
    return users.get(username=MAKER), users.get(username=CHECKER)


def _worked(application: KycApplication, to: str) -> KycApplication:
    """Work ``application`` from draft to ``to`` as the two demo officers would."""
    maker, checker = _officers()
    if to == S.DRAFT:
        return application
    application = kyc_submit(application=application, actor=maker)
    if to == S.SUBMITTED:
        return application
    application = kyc_review_start(application=application, actor=maker)
    if to == S.ON_HOLD:
        return kyc_hold(application=application, actor=maker, reason="Proof of address expired")
    if to == S.UNDER_REVIEW:
        return application
    application = kyc_ipv_record(application=application, actor=maker)
    application = kyc_verify(application=application, actor=maker)
    if to == S.VERIFIED:
        return application
    if to == S.REJECTED:
        return kyc_reject(
            application=application, actor=checker, reason="Name on the PAN card differs"
        )
    return kyc_approve(application=application, actor=checker)


def client_onboard(*, client: Client, to: str = S.APPROVED, **overrides) -> KycApplication:
    """A KYC application for ``client``, with its documents, worked to ``to``."""
    maker, _ = _officers()
    application = kyc_application_create(client=client, actor=maker, **declared(**overrides))
    for kind in REQUIRED_DOCUMENTS:
        kyc_document_upload(
            application=application, kind=kind, actor=maker,
            upload=ContentFile(DEMO_PDF, name=f"{kind}.pdf"),
        )  # fmt: skip
    return _worked(application, to)


def seed(*, stdout, reset_passwords: bool = False) -> None:
    made = []
    for name, pan, to, overrides in DEMO_APPLICATIONS:
        client, created = Client.objects.get_or_create(
            pan_digest=Client.pan_index(pan), defaults={"pan": pan, "name": name}
        )
        if created or not client.kyc_applications.exists():
            client_onboard(client=client, to=to, **overrides)
            made.append(f"{name} ({S(to).label})")
    # The KRA after the applications' transactions: each look-up is one step of the fake.
    for application in kyc_awaiting_kra():
        for _ in range(2):
            application = kyc_kra_sync(application=application)
    if made:
        stdout.write(f"KYC applications: {', '.join(made)}.")
    stdout.write(
        f"KYC queue: Sumit Mehta's application was verified by {MAKER}; sign in as "
        f"{CHECKER} and approve it (Compliance > KYC applications)."
    )
