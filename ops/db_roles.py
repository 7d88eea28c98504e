"""Least privilege in PostgreSQL: the schema owner that migrates, and the runtime role that
web and worker processes connect as (docs/database-roles.md).

- The **owner** (``DATABASE_MIGRATION_URL``'s user) owns every table, sequence, view and
  function of the schema and runs the migrations. It is no superuser.
- The **runtime** role (``DATABASE_URL``'s user) owns nothing, so it can neither alter a
  table nor disable or drop a trigger. It may SELECT, INSERT, UPDATE and DELETE the
  ordinary tables (the kept records refuse DELETE by trigger), use the sequences, and only
  INSERT and SELECT the audit trail; it holds TRUNCATE on nothing.

:func:`setup_statements` is the SQL that ``manage.py db_roles`` runs as a superuser (and
prints for a DBA); :func:`grant_statements`, its last part, is run again by the owner after
every ``migrate`` (``ops.apps``); :func:`role_findings` is what the deploy check reads.
Every statement reads the catalog when it runs, so the same SQL is right before and after
any migration, and running it twice changes nothing.
"""

import re
from dataclasses import dataclass

#: The audit trail's tables. The runtime role may INSERT and SELECT them, and never DELETE
#: or TRUNCATE them; a table missing from the database (not migrated yet) is skipped.
AUDIT_TABLES = (
    "compliance_auditevent",
    "compliance_auditcheckpoint",
    "compliance_auditchain",  # the head of each chain (one per account, and the firm's)
)
#: Of those, the chain heads: every append moves its chain's head forward under
#: SELECT ... FOR UPDATE, which PostgreSQL allows only with UPDATE, so the runtime role
#: may also UPDATE these (never DELETE or TRUNCATE). The other audit tables refuse UPDATE.
AUDIT_HEAD_TABLES = ("compliance_auditchain",)

ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
RUNTIME_TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
ROLE_ATTRIBUTES = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"


@dataclass(frozen=True)
class Statement:
    """One SQL statement; ``password_of`` names the role whose password it sets (the
    password goes in as a parameter, as a SCRAM verifier, and is never printed)."""

    sql: str
    password_of: str = ""

    def printable(self) -> str:
        if self.password_of:
            return self.sql.replace("%s", f":'{self.password_of}_password'")
        return self.sql


def role_name(value: str, option: str) -> str:
    """``value`` if it is a plain PostgreSQL role name, else a ValueError naming ``option``."""
    if not ROLE_NAME.fullmatch(value or ""):
        raise ValueError(
            f"{option} must be a role name of lower-case letters, digits and underscores "
            f"(at most 63, not starting with a digit), not {value!r}"
        )
    return value


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _role_statements(role: str, *, with_password: bool) -> list[Statement]:
    statements = [
        Statement(
            f"DO $$ BEGIN CREATE ROLE {_ident(role)}; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$;"
        ),
        Statement(f"ALTER ROLE {_ident(role)} {ROLE_ATTRIBUTES};"),
    ]
    if with_password:
        statements.append(Statement(f"ALTER ROLE {_ident(role)} PASSWORD %s;", password_of=role))
    return statements


def _ownership_statement(owner: str, schema: str) -> Statement:
    # Sequences owned by a column (serial, identity) follow their table; members of an
    # extension stay with it.
    return Statement(f"""DO $$
DECLARE item record;
BEGIN
    FOR item IN
        SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                              WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind,
               c.relname AS name
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = {_literal(schema)} AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
          AND c.relowner <> {_literal(owner)}::regrole
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                          AND d.objid = c.oid AND d.deptype IN ('e', 'a', 'i'))
    LOOP
        EXECUTE format('ALTER %s %I.%I OWNER TO %I', item.kind, {_literal(schema)}, item.name,
                       {_literal(owner)});
    END LOOP;
    FOR item IN
        SELECT p.oid::regprocedure AS routine
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = {_literal(schema)} AND p.proowner <> {_literal(owner)}::regrole
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                          AND d.objid = p.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO %I', item.routine, {_literal(owner)});
    END LOOP;
END $$;""")  # noqa: S608 - names are checked by role_name() and quoted


def _array(names: tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join(_literal(name) for name in names) + "]::text[]"


def grant_statements(*, owner: str, runtime: str, schema: str = "public") -> list[Statement]:
    """The runtime role's privileges, for objects there now and those the owner makes later.

    Run by a superuser (``db_roles``) or by the owner itself (after ``migrate``).
    """
    s, r = _ident(schema), _ident(runtime)
    appendable = tuple(t for t in AUDIT_TABLES if t not in AUDIT_HEAD_TABLES)
    return [
        Statement(f"GRANT {RUNTIME_TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA {s} TO {r};"),
        Statement(f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA {s} FROM {r};"),
        Statement(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r};"),
        Statement(f"""DO $$
DECLARE audit text;
BEGIN
    FOREACH audit IN ARRAY {_array(appendable)} LOOP
        IF to_regclass(format('%I.%I', {_literal(schema)}, audit)) IS NOT NULL THEN
            EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I.%I FROM %I',
                           {_literal(schema)}, audit, {_literal(runtime)});
        END IF;
    END LOOP;
    FOREACH audit IN ARRAY {_array(AUDIT_HEAD_TABLES)} LOOP
        IF to_regclass(format('%I.%I', {_literal(schema)}, audit)) IS NOT NULL THEN
            EXECUTE format('REVOKE DELETE, TRUNCATE ON %I.%I FROM %I',
                           {_literal(schema)}, audit, {_literal(runtime)});
        END IF;
    END LOOP;
END $$;"""),
        Statement(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {_ident(owner)} IN SCHEMA {s} "
            f"GRANT {RUNTIME_TABLE_PRIVILEGES} ON TABLES TO {r};"
        ),
        Statement(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {_ident(owner)} IN SCHEMA {s} "
            f"GRANT USAGE, SELECT ON SEQUENCES TO {r};"
        ),
    ]


def setup_statements(
    *,
    owner: str,
    runtime: str,
    schema: str = "public",
    owner_password: bool = False,
    runtime_password: bool = False,
) -> list[Statement]:
    """Everything ``db_roles`` runs as a superuser, in one transaction."""
    o, r, s = _ident(owner), _ident(runtime), _ident(schema)
    return [
        *_role_statements(owner, with_password=owner_password),
        *_role_statements(runtime, with_password=runtime_password),
        # The runtime role must not be able to become the owner (SET ROLE).
        Statement(
            f"DO $$ BEGIN IF pg_has_role({_literal(runtime)}, {_literal(owner)}, 'MEMBER') "
            f"THEN REVOKE {o} FROM {r}; END IF; END $$;"
        ),
        Statement(
            "DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I, %I', "
            f"current_database(), {_literal(owner)}, {_literal(runtime)}); END $$;"
        ),
        Statement(f"REVOKE CREATE ON SCHEMA {s} FROM PUBLIC, {r};"),
        Statement(f"GRANT USAGE, CREATE ON SCHEMA {s} TO {o};"),
        Statement(f"GRANT USAGE ON SCHEMA {s} TO {r};"),
        _ownership_statement(owner, schema),
        *grant_statements(owner=owner, runtime=runtime, schema=schema),
        *restore_schema_statements(owner=owner, runtime=runtime),
    ]


#: Where a restored archive is loaded (compliance.retention.restore): the owner's, and the
#: runtime role may only read it (SELECT, granted per restored table; no default privileges).
RESTORE_SCHEMA = "archive_restore"


def restore_schema_statements(*, owner: str, runtime: str) -> list[Statement]:
    """The archive's read-only restore schema: made here, by a superuser, because the owner
    has no CREATE on the database (only on its schema)."""
    o, r, s = _ident(owner), _ident(runtime), _ident(RESTORE_SCHEMA)
    return [
        Statement(f"CREATE SCHEMA IF NOT EXISTS {s} AUTHORIZATION {o};"),
        Statement(f"ALTER SCHEMA {s} OWNER TO {o};"),
        Statement(f"REVOKE ALL ON SCHEMA {s} FROM PUBLIC, {r};"),
        Statement(f"GRANT USAGE ON SCHEMA {s} TO {r};"),
    ]


def printable_sql(statements: list[Statement], *, owner: str, runtime: str) -> str:
    """The statements as a psql script a DBA can read and run (``psql -v ...``)."""
    passwords = [s.password_of for s in statements if s.password_of]
    head = [
        f"-- TradingSite database roles: {owner} owns the schema and migrates it;",
        f"-- {runtime} is what web and worker processes connect as (docs/database-roles.md).",
        "-- Run as a superuser in the application's database; running it again changes nothing.",
    ]
    if passwords:
        variables = " ".join(f"-v {name}_password=..." for name in passwords)
        head.append(f"-- Passwords are psql variables: psql {variables} -f this.sql")
    return "\n".join([*head, "BEGIN;", *(s.printable() for s in statements), "COMMIT;", ""])


# --- What the deploy check reads ------------------------------------------------------------

ROLE_SQL = "SELECT rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = %s"
AUDIT_SQL = """
SELECT t.name, pg_get_userbyid(c.relowner), pg_has_role(%s, c.relowner, 'MEMBER'),
       has_table_privilege(%s, c.oid, 'UPDATE'), has_table_privilege(%s, c.oid, 'DELETE'),
       has_table_privilege(%s, c.oid, 'TRUNCATE'),
       EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = c.oid AND NOT g.tgisinternal
               AND g.tgtype & 32 <> 0 AND g.tgenabled IN ('O', 'A'))
FROM unnest(%s::text[]) AS t(name) JOIN pg_class c ON c.oid = to_regclass(t.name)
ORDER BY t.name
"""


def role_findings(cursor, role: str) -> list[str]:
    """What is wrong with ``role`` as the runtime role, one sentence each (none: all well).

    ``cursor`` may belong to any role that can read the catalog (the role itself will do).
    """
    cursor.execute(ROLE_SQL, [role])
    row = cursor.fetchone()
    if row is None:
        return [f"role {role!r} does not exist"]
    superuser, bypass_rls, create_role = row
    findings = []
    if superuser:  # BYPASSRLS, CREATEROLE, owning and every privilege come with it
        findings.append(f"{role!r} is a superuser, which no grant holds back")
    elif bypass_rls:
        findings.append(f"{role!r} may bypass row-level security (BYPASSRLS)")
    if create_role and not superuser:
        findings.append(f"{role!r} may create and alter roles (CREATEROLE)")
    cursor.execute(AUDIT_SQL, [role, role, role, role, list(AUDIT_TABLES)])
    for table, owner, acts_as_owner, update, delete, truncate, truncate_trigger in cursor:
        if not truncate_trigger:
            findings.append(f"{table} has no enabled trigger refusing TRUNCATE")
        if superuser:
            continue  # a superuser may do all of what follows; said once above
        if acts_as_owner:
            findings.append(
                f"{role!r} owns {table} (or may act as its owner {owner!r}), so it could alter "
                "the table or disable its triggers"
            )
        held = [
            name
            for name, holds in (("UPDATE", update), ("DELETE", delete), ("TRUNCATE", truncate))
            if holds and not (name == "UPDATE" and table in AUDIT_HEAD_TABLES)
        ]
        if held:
            findings.append(f"{role!r} holds {', '.join(held)} on {table}")
    return findings


def roles_in_session(cursor) -> list[str]:
    """The session's login role and, if it differs (SET ROLE), the role now in effect."""
    cursor.execute("SELECT session_user, current_user")
    session, current = cursor.fetchone()
    return [session] if session == current else [session, current]


def runtime_grants_after_migrate(*, using: str) -> None:
    """After ``migrate`` as the schema owner, give the runtime role its grants on what the
    migrations made (the default privileges would grant UPDATE and DELETE on a new audit
    table). Nothing to do when the app and the migrations use one role (one URL)."""
    from django.conf import settings
    from django.core.management.base import CommandError
    from django.db import DatabaseError, connections, transaction

    connection = connections[using]
    runtime = settings.DATABASE_RUNTIME_USER
    owner = connection.settings_dict.get("USER") or ""
    if connection.vendor != "postgresql" or not runtime or not owner or runtime == owner:
        return
    try:
        with transaction.atomic(using=using), connection.cursor() as cursor:
            for statement in grant_statements(owner=owner, runtime=runtime):
                cursor.execute(statement.sql)
    except DatabaseError as exc:
        raise CommandError(
            f"the migrations ran, but the runtime role {runtime!r} (DATABASE_URL's user) could "
            f"not be given its grants: {str(exc).strip()}. Create the roles with "
            "`manage.py db_roles` as a superuser (docs/database-roles.md), then migrate again."
        ) from exc
