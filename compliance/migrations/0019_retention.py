"""Retention policies (seeded), legal holds and archive runs (issue 13, part 4)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from tradingsite.records import refuse_delete_operations, refuse_truncate_operations

KEPT_TABLES = (
    "compliance_retentionpolicy",
    "compliance_legalhold",
    "compliance_archiverun",
)

#: The default policies: at least five years for every kind of the books (issue 13).
POLICIES = {
    "audit_events": (5, 12, "Audit trail (SEBI: five years at least)"),
    "orders": (5, 12, "Orders, their fills and the ledger entries they posted"),
    "ledger": (5, 12, "Cash ledger entries of no order (pay-ins, pay-outs, charges)"),
    "kyc": (5, 12, "KYC applications and documents, from the end of the relationship"),
    "contract_notes": (5, 12, "Contract notes issued to clients"),
}


#: The audit trail refuses UPDATE and DELETE (0004), except one path: the archive's release
#: of rows already archived and verified (compliance.retention.release). It must run as the
#: table's owner AND set the session flag; the runtime role is refused even with the flag
#: (it holds no DELETE grant on the trail either), and UPDATE is refused to everyone.
RELEASE_FUNCTION = """
CREATE OR REPLACE FUNCTION compliance_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND coalesce(current_setting('tradingsite.archive_release', true), '') = 'on'
       AND current_user = (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = TG_RELID)
    THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING HINT = 'The audit trail is never changed; record a new event instead.';
END
$$;
"""
ORIGINAL_FUNCTION = """
CREATE OR REPLACE FUNCTION compliance_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING HINT = 'The audit trail is never changed; record a new event instead.';
END
$$;
"""


def allow_release(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(RELEASE_FUNCTION, params=None)


def refuse_release(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ORIGINAL_FUNCTION, params=None)


def seed_policies(apps, schema_editor):
    RetentionPolicy = apps.get_model("compliance", "RetentionPolicy")
    for kind, (years, online, description) in POLICIES.items():
        RetentionPolicy.objects.get_or_create(
            kind=kind,
            defaults={
                "retention_years": years,
                "online_months": online,
                "description": description,
            },
        )


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0018_report_exports"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="RetentionPolicy",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("audit_events", "Audit events"),
                            ("orders", "Orders and trades (orders, fills, their ledger entries)"),
                            ("ledger", "Ledger entries"),
                            ("kyc", "KYC applications and documents"),
                            ("contract_notes", "Contract notes"),
                        ],
                        max_length=24,
                        unique=True,
                    ),
                ),
                (
                    "retention_years",
                    models.PositiveSmallIntegerField(
                        default=5, help_text="Kept this long after the month ends (5 at least)"
                    ),
                ),
                (
                    "online_months",
                    models.PositiveSmallIntegerField(
                        default=12, help_text="Months after a month ends before it may be archived"
                    ),
                ),
                ("description", models.CharField(blank=True, max_length=300)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "verbose_name_plural": "retention policies",
                "ordering": ["kind"],
                "default_permissions": ("view", "change"),
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("retention_years__gte", 5)),
                        name="retention_at_least_floor",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("online_months__gte", 1)), name="retention_online_1"
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="ArchiveRun",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("audit_events", "Audit events"),
                            ("orders", "Orders and trades (orders, fills, their ledger entries)"),
                            ("ledger", "Ledger entries"),
                            ("kyc", "KYC applications and documents"),
                            ("contract_notes", "Contract notes"),
                        ],
                        max_length=24,
                    ),
                ),
                ("month", models.DateField(help_text="The first day of the archived month")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("archived", "Archived (still online)"),
                            ("released", "Archived, online rows released"),
                            ("purged", "Purged after retention"),
                        ],
                        default="archived",
                        max_length=12,
                    ),
                ),
                ("storage", models.CharField(default="archive", max_length=32)),
                ("prefix", models.CharField(max_length=200)),
                ("manifest_name", models.CharField(max_length=250)),
                ("manifest_sha256", models.CharField(max_length=64)),
                ("rows", models.BigIntegerField(default=0)),
                ("key_first", models.CharField(blank=True, max_length=64)),
                ("key_last", models.CharField(blank=True, max_length=64)),
                ("bounds", models.JSONField(blank=True, default=dict)),
                (
                    "seal",
                    models.JSONField(
                        blank=True, default=dict, help_text="The latest audit seal then"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("verified_at", models.DateTimeField(blank=True, null=True)),
                ("online_released_at", models.DateTimeField(blank=True, null=True)),
                ("restored_at", models.DateTimeField(blank=True, null=True)),
                ("restored_to", models.CharField(blank=True, max_length=300)),
                ("purge_requested_at", models.DateTimeField(blank=True, null=True)),
                ("purge_approved_at", models.DateTimeField(blank=True, null=True)),
                ("purged_at", models.DateTimeField(blank=True, null=True)),
                (
                    "purge_approved_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "purge_requested_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-month", "kind"],
                "permissions": [
                    ("archive_records", "Can archive, verify and restore records"),
                    ("purge_archive", "Can request or approve the purge of an archive"),
                ],
                "default_permissions": ("view",),
                "constraints": [
                    models.UniqueConstraint(
                        fields=("kind", "month"), name="archive_run_once_per_month"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("purge_approved_by__isnull", True),
                            models.Q(
                                ("purge_approved_by", models.F("purge_requested_by")), _negated=True
                            ),
                            _connector="OR",
                        ),
                        name="archive_purge_four_eyes",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="LegalHold",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("reason", models.CharField(max_length=300)),
                ("placed_at", models.DateTimeField(auto_now_add=True)),
                ("released_at", models.DateTimeField(blank=True, null=True)),
                ("release_reason", models.CharField(blank=True, max_length=300)),
                (
                    "case",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="compliance.case",
                    ),
                ),
                (
                    "client",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="compliance.client",
                    ),
                ),
                (
                    "placed_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "released_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-placed_at", "-id"],
                "default_permissions": ("view", "add", "change"),
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("case__isnull", True), ("client__isnull", False)),
                            models.Q(("case__isnull", False), ("client__isnull", True)),
                            _connector="OR",
                        ),
                        name="legal_hold_client_or_case",
                    )
                ],
            },
        ),
        migrations.RunPython(seed_policies, migrations.RunPython.noop),
        migrations.RunPython(allow_release, refuse_release),
        *refuse_delete_operations(*KEPT_TABLES),
        *refuse_truncate_operations(*KEPT_TABLES),
    ]
