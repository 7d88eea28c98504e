"""Create (or bring in line) the schema owner and runtime PostgreSQL roles, and their grants.

Run as a superuser, in the application's database, e.g.
``DATABASE_URL=postgres://postgres@db:5432/tradingsite python manage.py db_roles
--owner tradingsite_owner --runtime tradingsite_app``. ``--print-sql`` prints the SQL for a
DBA instead of running it. Running it again (after migrations too) changes nothing it has
set; see docs/database-roles.md.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from psycopg2.extensions import encrypt_password

from ops.db_roles import printable_sql, role_findings, role_name, setup_statements


def _password(path: Path | None, option: str) -> str:
    if path is None:
        return ""
    try:
        password = path.read_text().rstrip("\r\n")
    except OSError as exc:
        raise CommandError(f"{option}: cannot read {path}: {exc.strerror}") from exc
    if not password:
        raise CommandError(f"{option}: {path} is empty")
    return password


class Command(BaseCommand):
    help = (
        "Create the PostgreSQL schema-owner and runtime roles and grant the runtime role what "
        "the app needs (audit trail: INSERT and SELECT only). Run as a superuser; idempotent."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--owner", required=True, help="role that owns the schema, migrates")
        parser.add_argument("--runtime", required=True, help="role web and workers connect as")
        parser.add_argument("--schema", default="public", help="the app's schema (public)")
        parser.add_argument("--owner-password-file", type=Path, help="file holding its password")
        parser.add_argument("--runtime-password-file", type=Path, help="file holding its password")
        parser.add_argument(
            "--print-sql", action="store_true", help="print the SQL, connect to nothing"
        )

    def handle(self, *args, **options) -> None:
        try:
            owner = role_name(options["owner"], "--owner")
            runtime = role_name(options["runtime"], "--runtime")
            schema = role_name(options["schema"], "--schema")
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if owner == runtime:
            raise CommandError("--owner and --runtime must be two different roles")
        passwords = {
            owner: _password(options["owner_password_file"], "--owner-password-file"),
            runtime: _password(options["runtime_password_file"], "--runtime-password-file"),
        }
        statements = setup_statements(
            owner=owner,
            runtime=runtime,
            schema=schema,
            owner_password=bool(passwords[owner]),
            runtime_password=bool(passwords[runtime]),
        )
        if options["print_sql"]:
            self.stdout.write(printable_sql(statements, owner=owner, runtime=runtime), ending="")
            return

        connection = connections[DEFAULT_DB_ALIAS]
        if connection.vendor != "postgresql":
            raise CommandError(
                f"db_roles needs PostgreSQL; DATABASE_URL is a {connection.vendor} database"
            )
        try:
            connection.ensure_connection()
            raw = connection.connection
            with transaction.atomic(), raw.cursor() as cursor:
                cursor.execute("SELECT session_user, current_database()")
                me, database = cursor.fetchone()
                if me in (owner, runtime):
                    raise CommandError(
                        f"this connection logs in as {me!r}, one of the roles it would change; "
                        "run db_roles as a superuser (e.g. DATABASE_URL=postgres://postgres@...)"
                    )
                # Raw cursor: Django's query log (DEBUG) never sees the password statement,
                # and only a SCRAM verifier, computed here, reaches the server.
                for statement in statements:
                    if statement.password_of:
                        secret = passwords[statement.password_of]
                        verifier = encrypt_password(
                            secret, statement.password_of, raw, "scram-sha-256"
                        )
                        cursor.execute(statement.sql, [verifier])
                    else:
                        cursor.execute(statement.sql)
                findings = role_findings(cursor, runtime)
        except DatabaseError as exc:
            raise CommandError(
                f"could not set up the database roles: {str(exc).strip()}. Run db_roles as a "
                "superuser (e.g. DATABASE_URL=postgres://postgres@host:5432/<database>)."
            ) from exc
        set_passwords = [role for role, secret in passwords.items() if secret]
        self.stdout.write(
            f"Database {database}: {owner} owns schema {schema} and migrates it; {runtime} "
            "(web, workers) may use its rows and only INSERT and SELECT the audit trail."
            + (f" Password set for {', '.join(set_passwords)}." if set_passwords else "")
        )
        for finding in findings:
            self.stderr.write(f"still to do: {finding}")
