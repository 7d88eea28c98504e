"""KYC applications, their documents and the re-KYC queue, with risk and re-KYC rules as data.

An application is the client's KYC record as an officer checks it. It changes state only
through ``compliance.kyc.services.kyc_transition``; the client's own ``kyc_status``,
``kra_status``, ``risk_category`` and ``rekyc_due_on`` are set by those services alone, so
placement reads them from the client row it already has. Applications and documents are
kept records (PMLA: KYC records are kept for years after the relationship ends).
"""

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.core.validators import RegexValidator
from django.db import models

from compliance.kyc.choices import (
    ApplicationStatus,
    DocumentKind,
    IncomeRange,
    IndianState,
    KraStatus,
    Occupation,
    ReKycStatus,
    RiskCategory,
)
from compliance.models import Client, validate_bank_account, validate_ifsc, validate_pan
from ops.crypto import EncryptedTextField, blind_index
from tradingsite.records import KeptRecord

validate_aadhaar_last4 = RegexValidator(
    r"^[0-9]{4}$", "Keep only the last 4 digits of the Aadhaar number: exactly 4 digits."
)
validate_mobile = RegexValidator(
    r"^[6-9][0-9]{9}$", "An Indian mobile number is 10 digits starting with 6, 7, 8 or 9."
)
validate_country = RegexValidator(
    r"^[A-Z]{2}$", "A country is its ISO 3166 two-letter code, e.g. IN."
)


def kyc_storage() -> Storage:
    """Where KYC documents are kept: the ``kyc`` storage (outside the database)."""
    return storages["kyc"]


class KycApplication(KeptRecord):
    """One client's KYC application: identity, contact, finances, declarations, nominee,
    in-person verification, and who verified and who decided it."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="kyc_applications")
    status = models.CharField(
        max_length=16, choices=ApplicationStatus.choices, default=ApplicationStatus.DRAFT,
        editable=False,
    )  # fmt: skip
    # Identity
    name = models.CharField(max_length=200)
    pan = EncryptedTextField("PAN", validators=[validate_pan])
    pan_digest = models.CharField(max_length=64, editable=False, db_index=True)
    date_of_birth = models.DateField(help_text="Date of birth (of incorporation, for a company)")
    aadhaar_last4 = models.CharField(
        "Aadhaar (last 4 digits)", max_length=4, blank=True, validators=[validate_aadhaar_last4]
    )
    # Contact
    address = models.TextField()
    state = models.CharField(
        max_length=2, choices=IndianState.choices, blank=True,
        help_text="State or union territory of the address (its GST state code); it decides "
        "CGST + SGST or IGST on contract notes. Blank on applications made before it was "
        "recorded, and for an address outside India.",
    )  # fmt: skip
    country = models.CharField(
        max_length=2, default="IN", validators=[validate_country],
        help_text="Country of residence (ISO code)",
    )  # fmt: skip
    mobile = models.CharField(max_length=10, validators=[validate_mobile])
    email = models.EmailField()
    # Finances
    bank_account_number = EncryptedTextField(validators=[validate_bank_account])
    bank_ifsc = models.CharField("IFSC", max_length=11, validators=[validate_ifsc])
    income_range = models.CharField(max_length=12, choices=IncomeRange.choices)
    occupation = models.CharField(max_length=20, choices=Occupation.choices)
    net_worth = models.DecimalField(max_digits=16, decimal_places=2, help_text="Rupees")
    expected_annual_turnover = models.DecimalField(
        max_digits=16, decimal_places=2, default=0, help_text="Rupees a year, as declared"
    )
    # Declarations
    fatca_us_person = models.BooleanField(
        "FATCA: a US person", default=False, help_text="Citizen or tax resident of the USA"
    )
    tax_residency_country = models.CharField(
        "CRS: country of tax residence", max_length=2, default="IN", validators=[validate_country]
    )
    pep = models.BooleanField(
        "politically exposed person (self-declared)", default=False,
        help_text="The client is, or is related to, a politically exposed person",
    )  # fmt: skip
    # Nominee
    nominee_name = models.CharField(max_length=200, blank=True)
    nominee_relation = models.CharField(max_length=60, blank=True)
    # In-person verification
    ipv_done = models.BooleanField("IPV done", default=False, editable=False)
    ipv_on = models.DateField("IPV date", null=True, blank=True, editable=False)
    ipv_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        editable=False, related_name="+",
    )  # fmt: skip
    # Review
    submitted_at = models.DateTimeField(null=True, blank=True, editable=False)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        editable=False, related_name="+",
    )  # fmt: skip
    verified_at = models.DateTimeField(null=True, blank=True, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        editable=False, related_name="+",
    )  # fmt: skip
    decided_at = models.DateTimeField(null=True, blank=True, editable=False)
    hold_reason = models.TextField(blank=True, editable=False)
    rejection_reason = models.TextField(blank=True, editable=False)
    risk_category = models.CharField(
        max_length=8, choices=RiskCategory.choices, blank=True, editable=False
    )
    risk_reasons = models.JSONField(default=list, blank=True, editable=False)
    kra_status = models.CharField(
        "KRA status", max_length=16, choices=KraStatus.choices, blank=True, editable=False
    )
    kra_reference = models.CharField(max_length=40, blank=True, editable=False)
    kra_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", editable=False, help_text="The officer working the application",
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "KYC application"
        indexes = [models.Index(fields=["status", "submitted_at"], name="kyc_app_queue_idx")]

    def __str__(self) -> str:
        return f"KYC application {self.pk} of {self.name} ({self.get_status_display()})"

    def save(self, *args, **kwargs) -> None:
        self.pan = self.pan.strip().upper()
        self.pan_digest = blind_index(self.pan, "compliance.client.pan")
        if kwargs.get("update_fields") is not None and "pan" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "pan_digest"}
        super().save(*args, **kwargs)


def document_path(document: "KycDocument", filename: str) -> str:
    return f"{document.application.client_id}/{document.application_id}/{filename}"


class KycDocument(KeptRecord):
    """One uploaded document, checked by its content and size; ``sha256`` is of its bytes."""

    application = models.ForeignKey(
        KycApplication, on_delete=models.PROTECT, related_name="documents"
    )
    kind = models.CharField(max_length=20, choices=DocumentKind.choices)
    file = models.FileField(storage=kyc_storage, upload_to=document_path, max_length=300)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["application", "kind", "id"]
        verbose_name = "KYC document"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of application {self.application_id}"


class KycRiskRule(models.Model):
    """One rule of the risk category, as data: when ``factor`` matches ``value`` (or, for
    turnover, exceeds it) the client is at least ``category``."""

    class Factor(models.TextChoices):
        PEP = "pep", "PEP self-declaration (value: true)"
        COUNTRY = "country", "Country of residence or tax residence (ISO code)"
        OCCUPATION = "occupation", "Occupation (its code)"
        TURNOVER_TO_INCOME = "turnover_to_income", "Turnover as a multiple of income (above)"
        INCOME_RANGE = "income_range", "Income range (its code)"

    factor = models.CharField(max_length=20, choices=Factor.choices)
    value = models.CharField(max_length=40)
    category = models.CharField(max_length=8, choices=RiskCategory.choices)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["factor", "value"]
        verbose_name = "KYC risk rule"
        constraints = [
            models.UniqueConstraint(fields=["factor", "value"], name="kyc_risk_rule_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_factor_display()} = {self.value} -> {self.get_category_display()}"


class ReKycInterval(models.Model):
    """How often a client of each risk category is re-KYC'd, as data."""

    category = models.CharField(max_length=8, choices=RiskCategory.choices, unique=True)
    months = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["months"]
        verbose_name = "re-KYC interval"

    def __str__(self) -> str:
        return f"{self.get_category_display()}: every {self.months} months"


class ReKycDue(models.Model):
    """A client's re-KYC, raised into the queue when it falls due."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="rekyc_due")
    due_on = models.DateField()
    status = models.CharField(max_length=8, choices=ReKycStatus.choices, default=ReKycStatus.DUE)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", editable=False, help_text="The officer chasing the client's re-KYC",
    )  # fmt: skip
    raised_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = "re-KYC due"
        verbose_name_plural = "re-KYC due"
        constraints = [models.UniqueConstraint(fields=["client", "due_on"], name="rekyc_due_once")]

    def __str__(self) -> str:
        return f"Re-KYC of {self.client.name} due {self.due_on}"
