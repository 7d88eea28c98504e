"""Fixtures of KYC: documents by their magic bytes, two officers, applications at each step."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from compliance.kyc.choices import REQUIRED_DOCUMENTS, IncomeRange, Occupation
from compliance.kyc.services import (
    kyc_application_create,
    kyc_document_upload,
    kyc_ipv_record,
    kyc_review_start,
    kyc_submit,
    kyc_verify,
)
from compliance.models import Client

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 100


def upload(content: bytes = PDF, name: str = "scan.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


DECLARED = {
    "date_of_birth": dt.date(1990, 5, 17),
    "aadhaar_last4": "4321",
    "address": "12 MG Road, Bengaluru 560001",
    "mobile": "9876543210",
    "email": "kyc@example.in",
    "bank_account_number": "123456789012",
    "bank_ifsc": "HDFC0001234",
    "income_range": IncomeRange.L10_25,
    "occupation": Occupation.PRIVATE_SECTOR,
    "net_worth": Decimal("2500000.00"),
    "expected_annual_turnover": Decimal("5000000.00"),
    "nominee_name": "Ravi Rao",
    "nominee_relation": "Spouse",
}


@pytest.fixture(autouse=True)
def kyc_storage_dir(tmp_path):
    """KYC documents go to a fresh folder for each test (the ``kyc`` storage's location)."""
    from compliance.kyc.models import KycDocument

    storage = KycDocument._meta.get_field("file").storage
    old = storage._location if hasattr(storage, "_location") else None
    storage._location = str(tmp_path)
    storage.__dict__.pop("base_location", None)
    storage.__dict__.pop("location", None)
    yield tmp_path
    storage._location = old
    storage.__dict__.pop("base_location", None)
    storage.__dict__.pop("location", None)


@pytest.fixture
def officers(user_in_role):
    """Two compliance officers: the maker (verifies) and the checker (approves)."""
    return (
        user_in_role("Compliance Officer", "meera"),
        user_in_role("Compliance Officer", "kabir"),
    )


@pytest.fixture
def kyc_application(db, officers, kyc_storage_dir):
    """``kyc_application(pan=..., step="draft" | "submitted" | "under_review" | "verified",
    **declared)``: a client's application with every required document, at ``step``."""
    maker, _ = officers

    def make(
        pan: str = "ABCPK1234L",
        step: str = "draft",
        name: str = "Kiran Rao",
        client=None,
        **declared,
    ):
        client = client or Client.objects.create(name=name, pan=pan)
        application = kyc_application_create(client=client, actor=maker, **{**DECLARED, **declared})
        for kind in REQUIRED_DOCUMENTS:
            kyc_document_upload(application=application, kind=kind, upload=upload(), actor=maker)
        steps = ["draft", "submitted", "under_review", "verified"]
        if steps.index(step) >= 1:
            application = kyc_submit(application=application, actor=maker)
        if steps.index(step) >= 2:
            application = kyc_review_start(application=application, actor=maker)
            application = kyc_ipv_record(application=application, actor=maker)
        if steps.index(step) >= 3:
            application = kyc_verify(application=application, actor=maker)
        return application

    return make
