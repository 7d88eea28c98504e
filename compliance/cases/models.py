"""Cases, their notes, and the suspicious transaction reports filed from them.

A case groups alerts (and, for an AML true match, the screening hit) about one subject for
an officer to work: open -> under review -> escalated -> closed with no action, or STR
filed. It changes only through ``compliance.cases.services``, each change audited on the
firm's chain. Closing is four-eyes: one officer proposes the closure, a second approves it;
a database constraint holds that on every path (the shell included). Cases, notes and
STRs are kept records, and the compliance desk's alone: no trader or client page or API
shows them (tipping-off).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from compliance.alerts.models import Alert
from tradingsite.records import KeptRecord


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open"
    UNDER_REVIEW = "under_review", "Under review"
    ESCALATED = "escalated", "Escalated"
    CLOSED_NO_ACTION = "closed_no_action", "Closed: no action"
    STR_FILED = "str_filed", "Closed: STR filed"


#: A case in one of these states is finished; nothing about it changes again.
CLOSED_STATES = (CaseStatus.CLOSED_NO_ACTION, CaseStatus.STR_FILED)
#: The two closures an officer may propose, and the state each one ends in.
OUTCOMES = {"no_action": CaseStatus.CLOSED_NO_ACTION, "str_filed": CaseStatus.STR_FILED}


class Case(KeptRecord):
    """Alerts about one subject, worked by an officer and closed by a second."""

    Priority = Alert.Priority

    title = models.CharField(max_length=200)
    status = models.CharField(
        max_length=20, choices=CaseStatus.choices, default=CaseStatus.OPEN, editable=False
    )
    priority = models.IntegerField(choices=Priority.choices, default=Priority.MEDIUM)
    # No database constraint on the client: see Alert (clients are never deleted).
    client = models.ForeignKey(
        "compliance.Client", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", db_constraint=False, help_text="The case's main subject",
    )  # fmt: skip
    screening_hit = models.OneToOneField(
        "compliance.ScreeningHit", null=True, blank=True, on_delete=models.PROTECT,
        related_name="case", help_text="The AML true match this case was opened for",
    )  # fmt: skip
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", help_text="Empty when the system opened it (an AML true match)",
    )  # fmt: skip
    opened_at = models.DateTimeField(default=timezone.now, editable=False)
    sla_due_at = models.DateTimeField(help_text="When the case should be closed, by priority")
    #: [{"kind": "order" | "fill" | "ledger" | "audit", "id": int}, ...] added by officers;
    #: the alerts' own evidence is read from the alerts.
    evidence = models.JSONField(default=list, blank=True)
    suspicion_determined_on = models.DateField(
        null=True, blank=True, help_text="When the principal officer concluded suspicion"
    )
    # The proposed closure (the first officer), then its approval (the second).
    closure_outcome = models.CharField(
        max_length=12, blank=True, choices=[(k, k.replace("_", " ")) for k in OUTCOMES]
    )
    closure_reason = models.TextField(blank=True)
    closure_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closure_requested_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        default_permissions = ("view",)
        indexes = [models.Index(fields=["status", "opened_at"], name="compliance_case_queue")]
        constraints = [
            # Four-eyes on every path: a closed case names who proposed its closure and a
            # different officer who approved it.
            models.CheckConstraint(
                condition=~Q(status__in=CLOSED_STATES)
                | (
                    Q(closed_by__isnull=False, closure_requested_by__isnull=False)
                    & ~Q(closed_by=F("closure_requested_by"))
                ),
                name="compliance_case_closed_by_a_second_officer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ref}: {self.title}"

    @property
    def ref(self) -> str:
        return f"CASE-{self.opened_at:%Y}-{self.pk:06d}" if self.pk else "CASE (new)"

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATES


class CaseNote(KeptRecord):
    """An officer's note on a case: kept, never edited."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"note {self.pk} on {self.case.ref}"


class StrStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    FILED = "filed", "Filed (approved by a second officer)"


class StrReport(KeptRecord):
    """The suspicious transaction report of a case: drafted by the officer working it,
    approved (and its files frozen) when a second officer approves the case's closure as
    "STR filed". Due 7 days from the determination of suspicion (PMLA rules, rule 8)."""

    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="str_report")
    status = models.CharField(
        max_length=8, choices=StrStatus.choices, default=StrStatus.DRAFT, editable=False
    )
    grounds = models.TextField("grounds of suspicion")
    categories = models.JSONField(default=list, help_text="compliance.cases.report codes")
    action_taken = models.TextField(blank=True)
    suspicion_determined_on = models.DateField()
    due_on = models.DateField()
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    prepared_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    filed_at = models.DateTimeField(null=True, blank=True)
    # The frozen files (``compliance`` storage), named by their content's sha256.
    data_file = models.CharField("XML file", max_length=200, blank=True)
    data_sha256 = models.CharField("XML sha256", max_length=64, blank=True)
    pdf_file = models.CharField("PDF file", max_length=200, blank=True)
    pdf_sha256 = models.CharField("PDF sha256", max_length=64, blank=True)
    reminded_on = models.DateField(null=True, blank=True, help_text="Last due-date reminder")

    class Meta:
        default_permissions = ("view",)
        verbose_name = "suspicious transaction report"
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=StrStatus.FILED)
                | (
                    Q(approved_by__isnull=False, filed_at__isnull=False)
                    & ~Q(approved_by=F("prepared_by"))
                    & ~Q(data_sha256="")
                    & ~Q(pdf_sha256="")
                ),
                name="compliance_str_filed_by_a_second_officer",
            ),
        ]

    def __str__(self) -> str:
        return self.ref

    @property
    def ref(self) -> str:
        return f"STR-{self.prepared_at:%Y}-{self.pk:06d}" if self.pk else "STR (new)"
