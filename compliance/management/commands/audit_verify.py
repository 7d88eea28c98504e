"""Verify the audit trail's hash chain; exit non-zero naming the first broken link.

``--seals`` also checks the trail against the seals kept outside the database
(docs/audit-seals.md), and reports both in one answer.
"""

import os

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from compliance.models import AuditCheckpoint
from compliance.seal_sinks import SealSinkError
from compliance.selectors import audit_checkpoint_latest
from compliance.verify import audit_verify
from ops.progress import job_progress


class Command(BaseCommand):
    help = "Recompute every audit event's hash and check every chain (or since a checkpoint)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--since-checkpoint",
            nargs="?",
            const="latest",
            metavar="ID",
            help="Start at a checkpoint: the latest one, or the one with this id",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=min(2, os.cpu_count() or 1),
            help="Processes that walk the chains on PostgreSQL (default: 2, or 1 on one core)",
        )
        parser.add_argument(
            "--seals",
            action="store_true",
            help="Also check every sealed chain head against the seals outside the database",
        )

    def handle(self, *args, since_checkpoint=None, seals=False, workers=1, **options):
        if workers < 1:
            raise CommandError(f"--workers must be 1 or more, not {workers}.")
        checkpoint = self._checkpoint(since_checkpoint) if since_checkpoint else None
        where = f"since checkpoint {checkpoint.pk}" if checkpoint else "every chain"
        with job_progress("compliance.audit_verify", f"audit trail, {where}", unit="events") as job:
            result = audit_verify(since_checkpoint=checkpoint, progress=job, workers=workers)
            report = self._seals() if seals else None
            text = str(result) if report is None else f"{result}\n{report}"
            if not result.ok or (report is not None and not report.ok):
                raise CommandError(text)  # the job run is marked failed with this message
            job.finish(result={"checked": result.checked, "chains": len(result.heads)})
        self.stdout.write(self.style.SUCCESS(text))

    def _seals(self):
        from compliance.seal_verify import seals_verify

        try:
            return seals_verify()
        except (ImproperlyConfigured, SealSinkError) as exc:
            raise CommandError(f"Cannot check the seals: {exc}") from None

    def _checkpoint(self, choice: str) -> AuditCheckpoint | None:
        if choice == "latest":
            checkpoint = audit_checkpoint_latest()
            if checkpoint is None:
                self.stderr.write("No checkpoint yet: verifying the whole chain.")
            return checkpoint
        try:
            return AuditCheckpoint.objects.get(pk=int(choice))
        except (ValueError, AuditCheckpoint.DoesNotExist):
            raise CommandError(f"There is no audit checkpoint with id {choice!r}.") from None
