"""Rotate secrets: ``manage.py rotate_secrets [--dry-run] [--only postgres,redis,...]``."""

from django.core.management.base import BaseCommand, CommandError

from ops.rotation import STEPS, RotationBusy, secrets_rotate, steps_parse


class Command(BaseCommand):
    help = (
        "Rotate the PostgreSQL role password, the Redis ACL password, SECRET_KEY, the "
        "field-encryption key (re-encrypting every value) and expire API keys. Each new "
        "value is written to the secrets backend, verified, and rolled back if that fails."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what each step would do; change nothing."
        )
        parser.add_argument(
            "--only", default=None, help=f"Comma-separated steps (default: all): {', '.join(STEPS)}"
        )
        parser.add_argument(
            "--drop-old-keys",
            action="store_true",
            help="After re-encrypting every value, drop the older field-encryption keys.",
        )
        parser.add_argument(
            "--batch-size", type=int, default=500, help="Values re-encrypted per transaction."
        )

    def handle(self, *args, dry_run: bool, only: str | None, drop_old_keys: bool,
               batch_size: int, **options) -> None:  # fmt: skip
        try:
            names = steps_parse(only)
            results = secrets_rotate(
                only=names, dry_run=dry_run, drop_old_keys=drop_old_keys,
                batch_size=batch_size, stream=self.stderr,
            )  # fmt: skip
        except (ValueError, RotationBusy) as exc:
            raise CommandError(str(exc)) from None
        for result in results:
            style = {"failed": self.style.ERROR, "rotated": self.style.SUCCESS}.get(
                result.status, self.style.WARNING if result.status == "skipped" else str
            )
            version = f" v{result.key_version}" if result.key_version else ""
            self.stdout.write(
                style(f"{result.secret:<11} {result.status}{version}: {result.detail}")
            )
            for note in result.notes:
                self.stdout.write(f"{'':<11} note: {note}")
        failed = [r.secret for r in results if r.status == "failed"]
        if failed:
            raise CommandError(f"rotation failed for: {', '.join(failed)}")
