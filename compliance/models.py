"""Models of the compliance app: clients and their KYC status, and the SEBI audit trail.

The audit trail is append-only and hash-chained: see ``compliance.chain`` for the hash,
``compliance.services.audit_record`` for the only writer and ``compliance.verify`` for
the verifier. On PostgreSQL the database itself refuses UPDATE and DELETE on it.
"""

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from stdnum.in_ import pan as pan_number

from ops.crypto import EncryptedTextField, blind_index
from tradingsite.records import KeptRecord


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
            ("schedule_report_exports", "Can schedule regulatory report exports"),
            ("send_contract_notes", "Can send a contract note to its client again"),
        ]


def validate_pan(value: str) -> None:
    """A PAN is AAAAA9999A; its fourth letter is the holder type (P individual, C company...)."""
    if not pan_number.is_valid(value):
        raise ValidationError(
            f"{value!r} is not a valid PAN: it must look like AAAAA9999A, and its fourth letter "
            "must be a holder type (P, C, H, F, A, T, B, L, J or G)."
        )


validate_bank_account = RegexValidator(
    r"^[0-9]{9,18}$", "A bank account number is 9 to 18 digits, with no spaces or letters."
)
validate_ifsc = RegexValidator(
    r"^[A-Z]{4}0[A-Z0-9]{6}$",
    "An IFSC is 11 characters: four letters for the bank, a zero, then six for the branch.",
)


class Client(KeptRecord):
    """A person or entity the firm trades for. Trading is refused until KYC is verified.

    The PAN and the bank account number are encrypted at rest (``ops.crypto``); the PAN's
    blind index makes it unique and searchable by exact value.
    """

    class KycStatus(models.TextChoices):
        PENDING = "pending", "Pending"
        UNDER_REVIEW = "under_review", "Under review"
        KRA_PENDING = "kra_pending", "Approved; KRA not yet validated"
        VERIFIED = "verified", "Verified"
        REJECTED = "rejected", "Rejected"
        SUSPENDED = "suspended", "Suspended"

    name = models.CharField(max_length=200)
    pan = EncryptedTextField("PAN", validators=[validate_pan])
    pan_digest = models.CharField(max_length=64, unique=True, editable=False)
    bank_account_number = EncryptedTextField(blank=True, validators=[validate_bank_account])
    bank_ifsc = models.CharField("IFSC", max_length=11, blank=True, validators=[validate_ifsc])
    # Set only by the KYC services (compliance.kyc.services): "verified" means the KYC
    # application is approved AND the KRA validated it, so placement reads one field.
    kyc_status = models.CharField(
        max_length=16, choices=KycStatus.choices, default=KycStatus.PENDING
    )
    kyc_verified_at = models.DateTimeField(null=True, blank=True)
    kra_status = models.CharField("KRA status", max_length=16, blank=True)
    risk_category = models.CharField(max_length=8, blank=True)
    rekyc_due_on = models.DateField(
        "re-KYC due on", null=True, blank=True, help_text="Past it, no new positions"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.pan})"

    def save(self, *args, **kwargs) -> None:
        self.pan = self.pan.strip().upper()
        self.pan_digest = self.pan_index(self.pan)
        if kwargs.get("update_fields") is not None and "pan" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "pan_digest"}
        super().save(*args, **kwargs)

    @staticmethod
    def pan_index(pan: str) -> str:
        return blind_index(pan.strip().upper(), "compliance.client.pan")

    def clean(self) -> None:
        if self.pan and pan_number.is_valid(self.pan):
            twin = Client.objects.filter(pan_digest=self.pan_index(self.pan)).exclude(pk=self.pk)
            if twin.exists():
                raise ValidationError({"pan": "A client with this PAN already exists."})

    @property
    def holder_type(self) -> str:
        """The PAN holder type, e.g. "Individual" or "Company"."""
        return pan_number.info(self.pan)["holder_type"]

    @property
    def can_trade(self) -> bool:
        return self.kyc_status == self.KycStatus.VERIFIED

    def rekyc_overdue(self, on) -> bool:
        """Whether the periodic re-KYC is past due on date ``on`` (no new positions then)."""
        return self.rekyc_due_on is not None and self.rekyc_due_on < on


# --- Audit trail -------------------------------------------------------------------------------

GENESIS_HASH = "0" * 64


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or delete a row of the audit trail."""


class AppendOnlyQuerySet(models.QuerySet):
    """A queryset that refuses bulk UPDATE and DELETE, so no code path rewrites history."""

    def update(self, **kwargs):
        raise AppendOnlyError(f"{self.model._meta.db_table} is append-only: update refused")

    def delete(self):
        raise AppendOnlyError(f"{self.model._meta.db_table} is append-only: delete refused")


class AppendOnlyModel(models.Model):
    """A row that is inserted once and never saved again nor deleted."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{self._meta.db_table} is append-only: update refused")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{self._meta.db_table} is append-only: delete refused")


FIRM_CHAIN = "firm"


class AuditEvent(AppendOnlyModel):
    """One link of a hash chain: who did what to which object, when and from where.

    The trail is many chains: one per trading account (``account:<id>``), whose writers
    already hold the account's row lock, and the ``firm`` chain for events of no account.
    ``seq`` is the event's place in its chain; ``id`` orders the whole trail. ``hash`` is
    sha256(prev_hash + canonical JSON of every other field); see ``compliance.chain``.
    ``actor_id`` is no foreign key, so deleting a user never touches the trail;
    ``actor_username`` is the name at the time.
    """

    chain = models.CharField(max_length=32, editable=False, help_text='"firm" or "account:<id>"')
    seq = models.BigIntegerField(editable=False, help_text="Position in its chain")
    occurred_at = models.DateTimeField(editable=False)
    action = models.CharField(max_length=64, editable=False, help_text="e.g. order.accepted")
    object_type = models.CharField(
        max_length=100, blank=True, editable=False, help_text="app_label.model_name"
    )
    object_id = models.CharField(max_length=64, blank=True, editable=False)
    actor_id = models.IntegerField(null=True, blank=True, editable=False)
    actor_username = models.CharField(max_length=150, editable=False)
    source_ip = models.GenericIPAddressField(null=True, blank=True, editable=False)
    request_id = models.CharField(max_length=100, blank=True, editable=False)
    before = models.JSONField(null=True, blank=True, editable=False)
    after = models.JSONField(null=True, blank=True, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)

    class Meta:
        ordering = ["id"]
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(fields=["chain", "seq"], name="compliance_audit_chain_seq")
        ]
        indexes = [
            models.Index(fields=["occurred_at"], name="compliance_audit_at_idx"),
            models.Index(fields=["action", "id"], name="compliance_audit_action_id_idx"),
            models.Index(
                fields=["object_type", "object_id", "id"], name="compliance_audit_obj_id_idx"
            ),
            models.Index(fields=["actor_username", "id"], name="compliance_audit_actor_id_idx"),
        ]

    def __str__(self) -> str:
        target = f" {self.object_type}:{self.object_id}" if self.object_type else ""
        return f"{self.chain} #{self.seq} {self.action}{target} by {self.actor_username}"


class AuditChain(models.Model):
    """The head of one chain: its last link. Writers lock it, last of all their locks, to
    append in turn; an account's writers hold the account's lock already."""

    key = models.CharField(max_length=32, primary_key=True)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"Audit chain {self.key} at seq {self.seq}"


class AuditCheckpoint(AppendOnlyModel):
    """Every chain's head at one moment (daily): later verifications may start from it.

    ``heads`` maps each chain to ``[seq, hash]``; ``events`` counts the events it covers.
    """

    heads = models.JSONField(default=dict, editable=False)
    events = models.BigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        default_permissions = ("view",)
        get_latest_by = ["id"]

    def __str__(self) -> str:
        chains = len(self.heads)
        return f"Checkpoint of {chains} chain{'s' if chains != 1 else ''}, {self.events:,} events"


# The compliance desk's other models live with their domain and are registered here.
from compliance.alerts.models import Alert, AlertRule  # noqa: E402, F401
from compliance.cases.models import Case, CaseNote, StrReport  # noqa: E402, F401
from compliance.kyc.models import (  # noqa: E402, F401
    KycApplication,
    KycDocument,
    KycRiskRule,
    ReKycDue,
    ReKycInterval,
)  # fmt: skip
from compliance.reports.models import ContractNoteRecord, ReportExport  # noqa: E402, F401
from compliance.retention.models import ArchiveRun, LegalHold, RetentionPolicy  # noqa: E402, F401
from compliance.screening import models as screening_models  # noqa: E402, F401
from compliance.surveillance.models import ClientGroup, ClientLink  # noqa: E402, F401
