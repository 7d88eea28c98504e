"""Print docs/roles.md, the role x permission table, from ops.roles."""

from django.core.management.base import BaseCommand

from ops.roles import roles_markdown


class Command(BaseCommand):
    help = "Print the role x permission table (docs/roles.md) generated from ops/roles.py."

    def handle(self, *args, **options) -> None:
        self.stdout.write(roles_markdown(), ending="")
