"""Print the table of docs/security-headers.md, generated from ops.security_headers."""

from django.core.management.base import BaseCommand

from ops.security_headers import security_headers_markdown


class Command(BaseCommand):
    help = (
        "Print the security-headers table (docs/security-headers.md) from ops/security_headers.py."
    )

    def handle(self, *args, **options) -> None:
        self.stdout.write(security_headers_markdown(), ending="")
