#!/usr/bin/env python
"""Django's command-line utility for TradingSite."""

import os
import sys

#: Commands that change the schema. With DATABASE_MIGRATION_URL set they connect as its
#: user, the schema owner; every other command, like web and workers, as DATABASE_URL's
#: runtime role (docs/database-roles.md).
SCHEMA_COMMANDS = frozenset({"migrate", "createcachetable"})


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradingsite.settings")
    if len(sys.argv) > 1 and sys.argv[1] in SCHEMA_COMMANDS:
        os.environ.setdefault("TRADINGSITE_DATABASE_ROLE", "owner")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
