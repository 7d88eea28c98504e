"""Write a fresh field-encryption keyring (one key, an index key) to a new 0600 file."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ops.crypto import Keyring, keyring_write


class Command(BaseCommand):
    help = "Create a field-encryption keyring file for production (refuses to overwrite one)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path, help="where to write it, e.g. a secret's mount")

    def handle(self, *args, path: Path, **options) -> None:
        if path.exists():
            raise CommandError(f"{path} exists; a keyring is never overwritten (rotate instead)")
        if not path.parent.is_dir():
            raise CommandError(f"{path.parent} is not a directory")
        keyring_write(path, Keyring.fresh())
        self.stdout.write(f"wrote {path} (0600); set FIELD_ENCRYPTION_KEYRING={path}")
