"""On PostgreSQL: ``db_roles`` makes an owner and a runtime role in the test database, the
runtime role cannot rewrite, empty or unprotect the audit trail, the owner's TRUNCATE is
refused by the trigger, and the deploy check tells a proper runtime role from a superuser.

The roles get names of their own per test (roles belong to the whole server) and are
dropped afterwards, with the tables handed back to the test database's owner. ``db_roles``
runs as a superuser (``privileged_db``): where the suite connects as the runtime role (CI),
the same refusals are proved for the suite's own login too.
"""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg2
import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.db.backends.postgresql.base import DatabaseWrapper
from django.test import override_settings

from compliance.services import audit_checkpoint, audit_record
from compliance.verify import audit_verify
from conftest import require, run_manage
from ops.checks import runtime_role_warnings
from ops.db_roles import AUDIT_HEAD_TABLES, AUDIT_TABLES, runtime_grants_after_migrate

pytestmark = pytest.mark.integration

#: Every table whose TRUNCATE the migrations refuse (tradingsite.records).
NEVER_TRUNCATED = {
    "compliance_auditevent",
    "compliance_auditcheckpoint",
    "compliance_auditchain",
    "compliance_client",
    "ops_apikey",
    "orders_tradingaccount",
    "orders_ledgerentry",
    "orders_order",
    "orders_fill",
    "orders_position",
    "orders_holding",
    "orders_orderoutbox",
    "risk_limitchange",
    "risk_killswitch",
    "risk_breach",
}


@dataclass
class Roles:
    owner: str
    runtime: str
    params: dict

    def connect(self, role: str, password: str = ""):
        """A connection as ``role`` (the server trusts loopback logins here)."""
        conn = psycopg2.connect(**{**self.params, "user": role, "password": password})
        conn.autocommit = False
        return conn


def _admin(params: dict):
    conn = psycopg2.connect(**params)
    conn.autocommit = True
    return conn


@pytest.fixture
def roles(privileged_db) -> Iterator[Roles]:
    """An owner and a runtime role made by ``db_roles`` (as a superuser) in the (committed)
    test database; ``params`` log in as the superuser."""
    require(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    params = privileged_db.params("superuser")
    owner = privileged_db.params("owner")["user"]  # who owns the schema again afterwards
    tag = secrets.token_hex(3)
    made = Roles(f"ts_test_owner_{tag}", f"ts_test_app_{tag}", params)
    try:
        with privileged_db.connection_as("superuser"):
            call_command("db_roles", "--owner", made.owner, "--runtime", made.runtime)
        yield made
    finally:
        connection.close()
        admin = _admin(params)
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT rolname FROM pg_roles WHERE rolname IN %s", [(made.owner, made.runtime)]
            )
            for (role,) in cursor.fetchall():
                cursor.execute(f'REASSIGN OWNED BY "{role}" TO "{owner}"')
                cursor.execute(f'DROP OWNED BY "{role}"')
                cursor.execute(f'DROP ROLE "{role}"')
        admin.close()


def _refused(conn, sql: str) -> str:
    """The error ``sql`` meets (the transaction is rolled back); fails if it is allowed."""
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
    except psycopg2.Error as exc:
        return str(exc).splitlines()[0]
    finally:
        conn.rollback()
    pytest.fail(f"allowed: {sql}")


def _allowed(conn, sql: str) -> None:
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
    finally:
        conn.rollback()


def _audit_tables(conn) -> list[str]:
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM unnest(%s::text[]) AS t(name) WHERE to_regclass(name) IS NOT NULL",
            [list(AUDIT_TABLES)],
        )
        return [row[0] for row in cursor.fetchall()]


def _a_trigger(conn, table: str) -> str:
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal "
            "ORDER BY tgname LIMIT 1",
            [table],
        )
        return cursor.fetchone()[0]


def _copy_of_last_row(conn, table: str) -> str:
    """INSERT ... SELECT of the table's last row with a new seq (every append-only table
    has one) and a fresh id, so the copy breaks no unique constraint."""
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "AND column_name <> 'id' ORDER BY ordinal_position",
            [table],
        )
        columns = [row[0] for row in cursor.fetchall()]
    values = ["seq + 1000000" if c == "seq" else c for c in columns]
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 - catalog names
        f"SELECT {', '.join(values)} FROM {table} ORDER BY id DESC LIMIT 1"
    )


@pytest.mark.parametrize("whose", ["made by db_roles", "the suite's own"])
def test_the_runtime_role_only_inserts_and_reads_the_audit_trail(roles, privileged_db, whose):
    for i in range(3):
        audit_record(action="test.event", object_type="tests.thing", object_id=str(i))
    audit_checkpoint()
    if whose == "made by db_roles":
        role, password = roles.runtime, ""
    else:  # the login every other test uses
        if not privileged_db.as_runtime_role:
            pytest.skip("the suite connects as a superuser here (see TEST_DATABASE_ADMIN_URL)")
        role, password = connection.settings_dict["USER"], connection.settings_dict["PASSWORD"]
        assert runtime_role_warnings(connection) == []
    app = roles.connect(role, password)
    tables = _audit_tables(app)
    assert set(tables) >= {
        "compliance_auditevent",
        "compliance_auditcheckpoint",
        "compliance_auditchain",
    }

    for table in tables:
        denied = f"permission denied for table {table}"
        not_owner = "must be owner of"
        _allowed(app, f"SELECT count(*) FROM {table}")  # noqa: S608
        assert _refused(app, f"DELETE FROM {table}") == denied  # noqa: S608
        assert _refused(app, f"TRUNCATE {table}") == denied
        assert _refused(app, f"ALTER TABLE {table} DISABLE TRIGGER ALL").startswith(not_owner)
        trigger = _a_trigger(app, table)
        assert _refused(app, f"DROP TRIGGER {trigger} ON {table}").startswith(not_owner)
        assert _refused(app, f"ALTER TABLE {table} OWNER TO {role}").startswith(not_owner)
        if table in AUDIT_HEAD_TABLES:  # a head moves forward, under a row lock
            _allowed(app, f"SELECT * FROM {table} FOR UPDATE")  # noqa: S608
            _allowed(app, f"UPDATE {table} SET seq = seq")  # noqa: S608
        else:
            _allowed(app, _copy_of_last_row(app, table))
            assert _refused(app, f"UPDATE {table} SET id = id") == denied  # noqa: S608
    assert _refused(app, "CREATE TABLE compliance_shadow (seq bigint)").startswith(
        "permission denied for schema public"
    )
    app.close()


def test_the_owner_cannot_truncate_either(roles):
    owner = roles.connect(roles.owner)
    with owner.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = c.relname || '_no_truncate' AND t.tgenabled = 'O'"
        )
        protected = {row[0] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT count(*) FROM pg_class WHERE relname = ANY(%s) AND relowner <> %s::regrole",
            [list(protected), roles.owner],
        )
        assert cursor.fetchone()[0] == 0, "db_roles hands every table to the owner"
    owner.rollback()
    assert protected >= NEVER_TRUNCATED
    for table in sorted(protected):
        assert (
            _refused(owner, f"TRUNCATE {table} CASCADE")
            == f"{table} is never truncated: TRUNCATE refused"
        )
    owner.close()


@contextmanager
def default_connection_as(role: str) -> Iterator[None]:
    """Django's own connection logs in as ``role`` inside the block."""
    config = connection.settings_dict
    login = config["USER"], config["PASSWORD"]
    connection.close()
    config["USER"], config["PASSWORD"] = role, ""
    try:
        yield
    finally:
        connections["default"].close()
        config["USER"], config["PASSWORD"] = login


def test_the_app_writes_its_audit_trail_as_the_runtime_role(roles):
    audit_record(action="test.before", object_type="tests.thing", object_id="0")
    with default_connection_as(roles.runtime):
        for i in range(1, 4):  # locks and moves the head, appends the event
            audit_record(action="test.event", object_type="tests.thing", object_id=str(i))
        audit_checkpoint()
        result = audit_verify()
        assert runtime_role_warnings(connection) == []
    assert result.ok, str(result)
    assert result.checked == 4


def _wrapper_as(role: str) -> DatabaseWrapper:
    return DatabaseWrapper({**connection.settings_dict, "USER": role, "PASSWORD": ""}, "check")


def _as_admin(roles: Roles, *statements: str) -> None:
    admin = _admin(roles.params)
    with admin.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    admin.close()


def test_the_deploy_check_warns_of_a_superuser_and_passes_the_runtime_role(roles, privileged_db):
    superuser = _wrapper_as(roles.params["user"])
    try:
        warned = runtime_role_warnings(superuser)
    finally:
        superuser.close()
    assert [w.id for w in warned] == ["ops.W002"]
    assert "is a superuser" in warned[0].msg

    app = roles.runtime
    proper = _wrapper_as(app)
    try:
        assert runtime_role_warnings(proper) == []
        _as_admin(roles, f"GRANT DELETE ON compliance_auditevent TO {app}")
        assert [w.msg for w in runtime_role_warnings(proper)] == [
            f"Runtime database role: '{app}' holds DELETE on compliance_auditevent."
        ]
        _as_admin(roles, f"GRANT {roles.owner} TO {app}", f"ALTER ROLE {app} CREATEROLE")
        found = [w.msg for w in runtime_role_warnings(proper)]
        assert (
            found[0] == f"Runtime database role: '{app}' may create and alter roles (CREATEROLE)."
        )
        assert (
            f"Runtime database role: '{app}' owns compliance_auditevent (or may act as its "
            f"owner '{roles.owner}'), so it could alter the table or disable its triggers." in found
        )
        assert (
            f"Runtime database role: '{app}' holds UPDATE, DELETE, TRUNCATE on "
            "compliance_auditcheckpoint." in found
        )

        # db_roles, run again, puts all of that right.
        with privileged_db.connection_as("superuser"):
            call_command("db_roles", "--owner", roles.owner, "--runtime", app)
        assert runtime_role_warnings(proper) == []
    finally:
        proper.close()


def test_the_deploy_check_passes_in_production_as_the_runtime_role(roles, tmp_path):
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "staticfiles.json").write_text('{"paths": {}, "version": "1.1"}')
    keyring = tmp_path / "field_keys"
    assert run_manage("new_keyring", str(keyring), env={}).returncode == 0
    seal_key = tmp_path / "audit_seal_key.pem"
    assert run_manage("audit_seal_key", str(seal_key), env={}).returncode == 0
    p = roles.params
    env = {
        "TRADINGSITE_ENV": "production",
        "SECRET_KEY": "p" * 20 + "-production-secret-key-for-the-deploy-check-0123456789",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "TRADINGSITE_DATA_DIR": str(tmp_path),
        "FIELD_ENCRYPTION_KEYRING": str(keyring),
        "AUDIT_SEAL_KEY_FILE": str(seal_key),
    }
    url = f"postgres://{{}}@{p['host']}:{p['port']}/{p['dbname']}"

    as_runtime = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={**env, "DATABASE_URL": url.format(roles.runtime)},
    )
    as_superuser = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={**env, "DATABASE_URL": url.format(p["user"])},
    )

    assert as_runtime.returncode == 0, as_runtime.stderr
    assert "no issues" in as_runtime.stdout
    assert as_superuser.returncode != 0
    assert "(ops.W002) Runtime database role:" in as_superuser.stderr
    assert "is a superuser" in as_superuser.stderr


def test_migrate_as_the_owner_gives_the_runtime_role_its_grants(roles):
    admin = _admin(roles.params)
    with admin.cursor() as cursor:  # as the default privileges would on a new audit table
        cursor.execute(f"GRANT UPDATE, DELETE ON compliance_auditevent TO {roles.runtime}")
    # Not the settings fixture: the flush after the test sends post_migrate too.
    with override_settings(DATABASE_RUNTIME_USER=roles.runtime), default_connection_as(roles.owner):
        runtime_grants_after_migrate(using="default")
    with admin.cursor() as cursor:
        cursor.execute(
            "SELECT has_table_privilege(%s, 'compliance_auditevent', 'UPDATE'), "
            "has_table_privilege(%s, 'compliance_auditevent', 'DELETE'), "
            "has_table_privilege(%s, 'orders_order', 'UPDATE')",
            [roles.runtime] * 3,
        )
        assert cursor.fetchone() == (False, False, True)
    admin.close()


def test_db_roles_twice_changes_nothing_and_never_shows_a_password(
    roles, privileged_db, tmp_path, capsys
):
    def acl() -> list[tuple]:
        admin = _admin(roles.params)
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT relname, relowner::regrole::text, relacl::text FROM pg_class "
                "WHERE relnamespace = 'public'::regnamespace ORDER BY relname"
            )
            rows = cursor.fetchall()
            cursor.execute("SELECT defaclobjtype, defaclacl::text FROM pg_default_acl ORDER BY 1")
            rows += cursor.fetchall()
        admin.close()
        return rows

    before = acl()
    password = tmp_path / "runtime_password"
    password.write_text("a-runtime-password-never-echoed\n")
    capsys.readouterr()
    with privileged_db.connection_as("superuser"):
        call_command(
            "db_roles",
            "--owner",
            roles.owner,
            "--runtime",
            roles.runtime,
            "--runtime-password-file",
            str(password),
        )
    said = capsys.readouterr()
    assert acl() == before
    assert f"Password set for {roles.runtime}." in said.out
    assert "a-runtime-password-never-echoed" not in said.out + said.err
    admin = _admin(roles.params)
    with admin.cursor() as cursor:
        cursor.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", [roles.runtime])
        assert cursor.fetchone()[0].startswith("SCRAM-SHA-256$")
    admin.close()
