"""Contract notes as kept records: which note was made for which client and day, and where
its three files (signed PDF, CSV, JSON) are, each named by and checked against its sha256.

A note is made once per client and trading day (``compliance.reports.services``), and a
supplementary note for fills that arrive after it (part 2, 3, …, naming the note it
supplements); none is ever edited or deleted. Each note records the fills it covers. An
export of a register (``compliance.reports.exports``) is kept the same way.
"""

from django.conf import settings
from django.db import models

from tradingsite.records import KeptRecord


class ContractNoteRecord(KeptRecord):
    """One client's contract note of one trading day (or a supplementary note: a later part
    for fills that arrived after the first), and its files in the compliance storage."""

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
    part = models.PositiveSmallIntegerField(
        default=1, help_text="1 for the day's note; 2, 3, … for supplementary notes"
    )
    supplements = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="supplementary",
        help_text="The day's first note, which this supplementary note adds fills to",
    )  # fmt: skip
    fill_ids = models.JSONField(default=list, help_text="The fills on this note")

    class Meta:
        ordering = ["-trade_date", "number"]
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(
                fields=["client", "trade_date", "part"], name="contract_note_part_once"
            ),
            models.CheckConstraint(
                condition=models.Q(part=1, supplements__isnull=True)
                | models.Q(part__gt=1, supplements__isnull=False),
                name="contract_note_supplements_first",
            ),
        ]

    def __str__(self) -> str:
        return f"Contract note {self.number}"


class ContractNoteDispatch(KeptRecord):
    """One attempt to e-mail a contract note to its client.

    A run claims a note by writing a dispatch in ``sending`` (its own short transaction),
    sends with no transaction open, then marks it ``sent`` or ``failed``. The constraints
    make the claim the lock: one send of a note in flight at a time, and one scheduled
    dispatch of a note that is sending or sent, so two runs never send a note twice. An
    officer's "Send again" (``resend``) is outside the second rule.
    """

    class Status(models.TextChoices):
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    note = models.ForeignKey(
        ContractNoteRecord, on_delete=models.PROTECT, related_name="dispatches"
    )
    recipient = models.EmailField(blank=True, help_text="From the client's current KYC")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.SENDING)
    attempt = models.PositiveSmallIntegerField(help_text="1 for the note's first dispatch")
    resend = models.BooleanField(default=False, help_text='An officer\'s "Send again"')
    error = models.TextField(blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    attempted_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["note", "attempt"]
        default_permissions = ("view",)
        verbose_name = "contract note dispatch"
        constraints = [
            models.UniqueConstraint(
                fields=["note", "attempt"], name="contract_note_dispatch_attempt_once"
            ),
            models.UniqueConstraint(
                fields=["note"],
                condition=models.Q(status="sending"),
                name="contract_note_dispatch_one_in_flight",
            ),
            models.UniqueConstraint(
                fields=["note"],
                condition=models.Q(status__in=["sending", "sent"], resend=False),
                name="contract_note_dispatch_sent_once",
            ),
        ]

    def __str__(self) -> str:
        return f"Dispatch {self.attempt} of contract note {self.note_id} ({self.status})"


class ReportExport(KeptRecord):
    """One run of a register or statement to a file: who asked (or which schedule), with
    which filters, how it went, and the file it made in the compliance storage, named by
    and checked against its sha256. Kept: an export is a record of what left the firm."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (XLSX)"
        PDF = "pdf", "PDF"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=64, help_text="The register, e.g. trade_register")
    format = models.CharField(max_length=8, choices=Format.choices)
    params = models.JSONField(default=dict, help_text="The checked filters (ReportParams)")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for a scheduled run",
    )
    schedule = models.CharField(
        max_length=200, blank=True, help_text="The periodic task that asked, for scheduled runs"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # Not a foreign key: job runs are not kept records (they may be pruned); the export
    # keeps its own outcome, the run only shows progress while it works.
    job_run_id = models.BigIntegerField(null=True, blank=True, help_text="ops.JobRun")
    path = models.CharField(max_length=255, blank=True, help_text="In storages['compliance']")
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.BigIntegerField(null=True, blank=True, help_text="Bytes")
    row_count = models.BigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    database = models.CharField(
        max_length=32, blank=True, help_text="The database alias the rows were read from"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        default_permissions = ("view",)
        indexes = [models.Index(fields=["requested_by", "-created_at"], name="report_export_mine")]

    def __str__(self) -> str:
        return f"Export {self.pk}: {self.kind} ({self.format}, {self.status})"
