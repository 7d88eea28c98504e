"""Models of AML screening: the lists, their imported versions and entries, the matching
rule (threshold and weights, as data), and the hits an officer disposes.

A list version is stored whole or not at all (``compliance.screening.services``). An entry's
``key`` names the listed person or entity across versions (``un:QDi.430``), so a false
positive disposed once is not raised again for the same client while the listing's
identifying data (``digest``) is unchanged.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models


class ScreeningList(models.Model):
    """A list the firm screens against: the UN Security Council consolidated list (which
    carries India's UAPA designations) or a PEP list."""

    class Code(models.TextChoices):
        UN = "un", "UN Security Council consolidated list"
        PEP = "pep", "Politically exposed persons (PEP)"

    code = models.CharField(max_length=8, choices=Code.choices, unique=True)
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class ListVersion(models.Model):
    """One import of a list: its source file, checksum and count. Never edited."""

    screening_list = models.ForeignKey(
        ScreeningList, on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField(help_text="1, 2, ... per list")
    source = models.CharField(max_length=255, help_text="The file imported")
    sha256 = models.CharField("SHA-256", max_length=64)
    generated_at = models.DateTimeField(
        null=True, blank=True, help_text="When the publisher generated the file, if it says"
    )
    entry_count = models.PositiveIntegerField()
    imported_at = models.DateTimeField(auto_now_add=True)
    imported_by = models.CharField(max_length=150)

    class Meta:
        ordering = ["screening_list", "-number"]
        get_latest_by = "number"
        constraints = [
            models.UniqueConstraint(
                fields=["screening_list", "number"], name="screening_version_number"
            ),
            models.UniqueConstraint(
                fields=["screening_list", "sha256"], name="screening_version_sha256"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.screening_list.get_code_display()} v{self.number}"


class ListEntry(models.Model):
    """A listed individual or entity, as one version of its list has it."""

    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", "Individual"
        ENTITY = "entity", "Entity"

    version = models.ForeignKey(ListVersion, on_delete=models.CASCADE, related_name="entries")
    key = models.CharField(max_length=80, help_text="The listing across versions: un:QDi.430")
    digest = models.CharField(max_length=64, help_text="sha256 of the identifying data")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    reference = models.CharField(max_length=64, help_text="e.g. QDi.430, or the PEP list's id")
    name = models.CharField(max_length=300)
    aliases = models.JSONField(default=list, blank=True)
    #: ISO dates ("1964-01-01") or years ("1955") as the list gives them.
    dates_of_birth = models.JSONField(default=list, blank=True)
    nationalities = models.JSONField(default=list, blank=True)
    list_type = models.CharField(max_length=120, blank=True, help_text="UN regime, PEP role")
    listed_on = models.DateField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    line = models.PositiveIntegerField(help_text="Line of the source file it came from")

    class Meta:
        ordering = ["version", "name"]
        verbose_name_plural = "list entries"
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="screening_entry_once")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.reference})"


class MatchRule(models.Model):
    """The matching's threshold and weights: data an officer can tune, one row per list
    (``list_code`` blank is the default for every list)."""

    list_code = models.CharField(
        max_length=8, choices=ScreeningList.Code.choices, blank=True, unique=True
    )
    threshold = models.DecimalField(
        max_digits=5, decimal_places=2, help_text="A score at or above it raises a hit (0-100)"
    )
    name_floor = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        help_text="Below this name score, no evidence can raise a hit",
    )
    dob_exact_bonus = models.DecimalField(max_digits=5, decimal_places=2)
    dob_year_bonus = models.DecimalField(max_digits=5, decimal_places=2)
    dob_mismatch_penalty = models.DecimalField(max_digits=5, decimal_places=2)
    nationality_bonus = models.DecimalField(max_digits=5, decimal_places=2)
    nationality_mismatch_penalty = models.DecimalField(max_digits=5, decimal_places=2)
    word_strictness = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        help_text="Points a word loses per point it is less alike (2: 90% alike scores 80)",
    )
    initial_similarity = models.DecimalField(
        max_digits=5, decimal_places=2, help_text="What an initial scores against its word"
    )
    unmatched_share = models.DecimalField(
        max_digits=4,
        decimal_places=2,
        help_text="Share of its weight an extra word of the longer name costs (0-1)",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["list_code"]

    def __str__(self) -> str:
        return f"Match rule {self.list_code or 'default'}: threshold {self.threshold}"

    def weights(self) -> dict[str, Decimal]:
        return {f: getattr(self, f) for f in WEIGHT_FIELDS}


WEIGHT_FIELDS = (
    "threshold",
    "name_floor",
    "dob_exact_bonus",
    "dob_year_bonus",
    "dob_mismatch_penalty",
    "nationality_bonus",
    "nationality_mismatch_penalty",
    "word_strictness",
    "initial_similarity",
    "unmatched_share",
)


class HitStatus(models.TextChoices):
    OPEN = "open", "Open"
    TRUE_MATCH = "true_match", "True match (accounts frozen)"
    FALSE_POSITIVE = "false_positive", "False positive"


class ScreeningHit(models.Model):
    """A client who may be a listed person: for an officer to dispose."""

    Status = HitStatus

    # No database constraint, as on compliance.Alert: a deferred FK check would take a KEY
    # SHARE lock after the firm's audit chain is held (orders.locks). Clients are kept.
    client = models.ForeignKey(
        "compliance.Client", on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    entry = models.ForeignKey(ListEntry, on_delete=models.PROTECT, related_name="hits")
    version = models.ForeignKey(ListVersion, on_delete=models.PROTECT, related_name="hits")
    entry_key = models.CharField(max_length=80)
    entry_digest = models.CharField(max_length=64)
    score = models.DecimalField(max_digits=5, decimal_places=2)
    evidence = models.JSONField(default=dict, help_text="The names, dates and scores compared")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    raised_at = models.DateTimeField(auto_now_add=True)
    disposed_at = models.DateTimeField(null=True, blank=True)
    disposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(blank=True)
    #: A true match needs a case; cases are not built yet, so the need is recorded here.
    case_required = models.BooleanField(default=False)
    accounts_suspended = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "entry_key"],
                condition=models.Q(status=HitStatus.OPEN),
                name="screening_hit_open_once",
            )
        ]
        indexes = [models.Index(fields=["status", "raised_at"], name="screening_hit_queue")]

    def __str__(self) -> str:
        return f"Hit {self.pk}: client {self.client_id} ~ {self.entry_key} ({self.score})"
