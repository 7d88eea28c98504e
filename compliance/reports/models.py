"""Contract notes as kept records: which note was made for which client and day, and where
its three files (signed PDF, CSV, JSON) are, each named by and checked against its sha256.

A note is made once per client and trading day (``compliance.reports.services``) and is
never edited or deleted.
"""

from django.db import models

from tradingsite.records import KeptRecord


class ContractNoteRecord(KeptRecord):
    """One client's contract note of one trading day, and its files in the compliance storage."""

    # No database constraint on the client: see Alert (clients are never deleted).
    client = models.ForeignKey(
        "compliance.Client", on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    trade_date = models.DateField()
    number = models.CharField(max_length=32, unique=True, help_text="CN-<date>-<sequence>")
    settlement_number = models.CharField(max_length=16)
    pdf_path = models.CharField(max_length=200)
    pdf_sha256 = models.CharField(max_length=64)
    csv_path = models.CharField(max_length=200)
    csv_sha256 = models.CharField(max_length=64)
    json_path = models.CharField(max_length=200)
    json_sha256 = models.CharField(max_length=64)
    generated_at = models.DateTimeField()

    class Meta:
        ordering = ["-trade_date", "number"]
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(
                fields=["client", "trade_date"], name="contract_note_once_per_client_day"
            )
        ]

    def __str__(self) -> str:
        return f"Contract note {self.number}"
