"""Write a fresh Ed25519 key for the audit seals to a new 0600 PEM file; print its public key."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from compliance.seal_keys import key_file_write, public_key_text


class Command(BaseCommand):
    help = "Create the audit seals' signing key (refuses to overwrite a file)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path, help="where to write it, e.g. a secret's mount")

    def handle(self, *args, path: Path, **options) -> None:
        if path.exists():
            raise CommandError(f"{path} exists; a seal key is never overwritten")
        if not path.parent.is_dir():
            raise CommandError(f"{path.parent} is not a directory")
        key = key_file_write(path)
        public = public_key_text(key.private.public_key())
        self.stdout.write(
            f"wrote {path} (0600), key id {key.id}; set AUDIT_SEAL_KEY_FILE={path}\n"
            f"public key (for AUDIT_SEAL_PUBLIC_KEYS on a verifier): {public}"
        )
