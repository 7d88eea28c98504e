"""Retention policies (one per record kind, as data), legal holds and archive runs.

A policy's ``retention_years`` never goes below the regulatory floor (a database CHECK of
5 years); ``online_months`` is how long a month stays in the online tables before it may
be archived. Legal holds and archive runs are kept records: never deleted.
"""

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from tradingsite.records import KeptRecord

#: SEBI's floor for the books: no policy keeps a regulated kind for less.
RETENTION_FLOOR_YEARS = 5


class RecordKind(models.TextChoices):
    AUDIT_EVENTS = "audit_events", "Audit events"
    ORDERS = "orders", "Orders and trades (orders, fills, their ledger entries)"
    LEDGER = "ledger", "Ledger entries"
    KYC = "kyc", "KYC applications and documents"
    CONTRACT_NOTES = "contract_notes", "Contract notes"


def month_after(month: dt.date, months: int = 1) -> dt.date:
    """The first day of the month ``months`` after ``month``'s."""
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


class RetentionPolicy(KeptRecord):
    """How long one kind of record is kept, and how long it stays online."""

    kind = models.CharField(max_length=24, choices=RecordKind.choices, unique=True)
    retention_years = models.PositiveSmallIntegerField(
        default=RETENTION_FLOOR_YEARS, help_text="Kept this long after the month ends (5 at least)"
    )
    online_months = models.PositiveSmallIntegerField(
        default=12, help_text="Months after a month ends before it may be archived"
    )
    description = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind"]
        verbose_name_plural = "retention policies"
        default_permissions = ("view", "change")
        constraints = [
            models.CheckConstraint(
                condition=Q(retention_years__gte=RETENTION_FLOOR_YEARS),
                name="retention_at_least_floor",
            ),
            models.CheckConstraint(condition=Q(online_months__gte=1), name="retention_online_1"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.retention_years} years"

    def archivable_from(self, month: dt.date) -> dt.date:
        """The first day ``month`` may be archived: its online window over."""
        return month_after(month, 1 + self.online_months)

    def retained_until(self, month: dt.date) -> dt.date:
        """The first day ``month``'s records may be purged: retention over."""
        end = month_after(month)
        return end.replace(year=end.year + self.retention_years)


class LegalHold(KeptRecord):
    """A hold on a client, or on a case (its subject), that blocks archival and purge."""

    client = models.ForeignKey(
        "compliance.Client", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    case = models.ForeignKey(
        "compliance.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=300)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    placed_at = models.DateTimeField(auto_now_add=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)
    release_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        default_permissions = ("view", "add", "change")
        constraints = [
            models.CheckConstraint(
                condition=Q(client__isnull=False, case__isnull=True)
                | Q(client__isnull=True, case__isnull=False),
                name="legal_hold_client_or_case",
            ),
        ]

    def __str__(self) -> str:
        target = f"client {self.client_id}" if self.client_id else f"case {self.case_id}"
        state = "released" if self.released_at else "in force"
        return f"Legal hold on {target} ({state})"

    @property
    def active(self) -> bool:
        return self.released_at is None

    @property
    def described(self) -> str:
        """How refusals name it: "legal hold 4 on client 12 (SEBI inquiry)"."""
        target = f"client {self.client_id}" if self.client_id else f"case {self.case_id}"
        return f"legal hold {self.pk} on {target} ({self.reason})"


class ArchiveStatus(models.TextChoices):
    ARCHIVED = "archived", "Archived (still online)"
    RELEASED = "released", "Archived, online rows released"
    PURGED = "purged", "Purged after retention"


class ArchiveRun(KeptRecord):
    """One month of one record kind written to the archive storage, and what became of it.

    ``manifest_sha256`` pins the manifest, which pins every file; ``bounds`` maps each
    audit chain to ``[first_seq, last_seq, last_hash]`` archived, so verification can start
    each chain from the archive's boundary once the online rows are released. What a run
    recorded is fixed once written, and its status only moves forward: the database refuses
    any other UPDATE (migration 0020).
    """

    kind = models.CharField(max_length=24, choices=RecordKind.choices)
    month = models.DateField(help_text="The first day of the archived month")
    status = models.CharField(
        max_length=12, choices=ArchiveStatus.choices, default=ArchiveStatus.ARCHIVED
    )
    storage = models.CharField(max_length=32, default="archive")
    prefix = models.CharField(max_length=200)
    manifest_name = models.CharField(max_length=250)
    manifest_sha256 = models.CharField(max_length=64)
    rows = models.BigIntegerField(default=0)
    key_first = models.CharField(max_length=64, blank=True)
    key_last = models.CharField(max_length=64, blank=True)
    bounds = models.JSONField(default=dict, blank=True)
    seal = models.JSONField(default=dict, blank=True, help_text="The latest audit seal then")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    online_released_at = models.DateTimeField(null=True, blank=True)
    restored_at = models.DateTimeField(null=True, blank=True)
    restored_to = models.CharField(max_length=300, blank=True)
    purge_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    purge_requested_at = models.DateTimeField(null=True, blank=True)
    purge_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    purge_approved_at = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-month", "kind"]
        default_permissions = ("view",)
        permissions = [
            ("archive_records", "Can archive, verify and restore records"),
            ("purge_archive", "Can request or approve the purge of an archive"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["kind", "month"], name="archive_run_once_per_month"),
            models.CheckConstraint(
                condition=Q(purge_approved_by__isnull=True)
                | ~Q(purge_approved_by=F("purge_requested_by")),
                name="archive_purge_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.month:%Y-%m} ({self.get_status_display()})"
