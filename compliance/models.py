"""Models of the compliance app: clients and their KYC status (the audit trail follows)."""

from django.core.exceptions import ValidationError
from django.db import models
from stdnum.in_ import pan as pan_number


class ComplianceAccess(models.Model):  # noqa: DJ008 - it has no rows to show
    """Holds the compliance desk's named permissions, which belong to no single table.

    It has no table of its own; roles in ``ops.roles`` grant these permissions.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("review_kyc", "Can work the KYC queue"),
            ("approve_kyc", "Can approve or reject a client's KYC"),
            ("screen_aml", "Can run AML screening and review its hits"),
            ("manage_surveillance_case", "Can open, work and close surveillance cases"),
            ("file_str", "Can file a suspicious transaction report (STR)"),
            ("view_audit_trail", "Can read the audit trail"),
            ("verify_audit_trail", "Can verify the audit trail's hash chain"),
            ("export_regulatory_reports", "Can export regulatory reports"),
        ]


def validate_pan(value: str) -> None:
    """A PAN is AAAAA9999A; its fourth letter is the holder type (P individual, C company...)."""
    if not pan_number.is_valid(value):
        raise ValidationError(
            f"{value!r} is not a valid PAN: it must look like AAAAA9999A, and its fourth letter "
            "must be a holder type (P, C, H, F, A, T, B, L, J or G)."
        )


class Client(models.Model):
    """A person or entity the firm trades for. Trading is refused until KYC is verified."""

    class KycStatus(models.TextChoices):
        PENDING = "pending", "Pending"
        UNDER_REVIEW = "under_review", "Under review"
        VERIFIED = "verified", "Verified"
        REJECTED = "rejected", "Rejected"
        SUSPENDED = "suspended", "Suspended"

    name = models.CharField(max_length=200)
    pan = models.CharField("PAN", max_length=10, unique=True, validators=[validate_pan])
    kyc_status = models.CharField(
        max_length=16, choices=KycStatus.choices, default=KycStatus.PENDING
    )
    kyc_verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.pan})"

    @property
    def holder_type(self) -> str:
        """The PAN holder type, e.g. "Individual" or "Company"."""
        return pan_number.info(self.pan)["holder_type"]

    @property
    def can_trade(self) -> bool:
        return self.kyc_status == self.KycStatus.VERIFIED
