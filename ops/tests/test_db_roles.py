"""The database roles on any profile: the SQL ``db_roles`` prints, its refusals of bad
input, the list of audit tables, which URL ``manage.py migrate`` uses, and a deploy check
that stays quiet outside production and says so when it cannot reach the database."""

import json
import os

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db.utils import ConnectionHandler

import manage
from compliance.models import AppendOnlyModel, AuditChain
from conftest import run_manage
from ops.checks import database_runtime_role, runtime_role_warnings
from ops.db_roles import AUDIT_HEAD_TABLES, AUDIT_TABLES


def print_sql(*extra: str, capsys) -> str:
    call_command("db_roles", "--owner", "ts_owner", "--runtime", "ts_app", "--print-sql", *extra)
    return capsys.readouterr().out


def test_every_audit_model_is_in_audit_tables():
    audit = {
        model._meta.db_table
        for model in apps.get_app_config("compliance").get_models()
        if issubclass(model, AppendOnlyModel) or model is AuditChain
    }
    assert audit >= {"compliance_auditevent", "compliance_auditcheckpoint"}
    assert audit <= set(AUDIT_TABLES)
    assert "compliance_auditchain" in AUDIT_TABLES  # the per-account heads, on their way
    assert set(AUDIT_HEAD_TABLES) <= set(AUDIT_TABLES)


def test_the_printed_sql_grants_no_truncate_and_no_update_of_the_trail(capsys):
    sql = print_sql(capsys=capsys)
    grants = [line for line in sql.splitlines() if line.startswith("GRANT")]
    assert grants == [
        'GRANT USAGE, CREATE ON SCHEMA "public" TO "ts_owner";',
        'GRANT USAGE ON SCHEMA "public" TO "ts_app";',
        'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "public" TO "ts_app";',
        'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "public" TO "ts_app";',
        # The archive's restore schema: the runtime role reads what is granted table by table
        'GRANT USAGE ON SCHEMA "archive_restore" TO "ts_app";',
    ]
    assert 'CREATE SCHEMA IF NOT EXISTS "archive_restore" AUTHORIZATION "ts_owner";' in sql
    assert 'REVOKE ALL ON SCHEMA "archive_restore" FROM PUBLIC, "ts_app";' in sql
    assert "REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES" in sql
    assert "ARRAY['compliance_auditevent', 'compliance_auditcheckpoint']" in sql
    assert "REVOKE UPDATE, DELETE, TRUNCATE ON %I.%I" in sql
    assert 'ALTER DEFAULT PRIVILEGES FOR ROLE "ts_owner" IN SCHEMA "public"' in sql
    assert 'ALTER ROLE "ts_app" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE' in sql
    assert sql.startswith("-- TradingSite database roles")
    assert "COMMIT;" in sql


def test_a_password_is_a_psql_variable_in_the_printed_sql(tmp_path, capsys):
    secret = tmp_path / "app_password"
    secret.write_text("s3cret-that-never-shows\n")
    sql = print_sql("--runtime-password-file", str(secret), capsys=capsys)
    assert "ALTER ROLE \"ts_app\" PASSWORD :'ts_app_password';" in sql
    assert "psql -v ts_app_password=... -f this.sql" in sql
    assert "s3cret" not in sql
    assert "ts_owner PASSWORD" not in sql


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--owner", "Owner", "--runtime", "ts_app"], "--owner must be a role name"),
        (["--owner", "ts_owner", "--runtime", 'x"; DROP'], "--runtime must be a role name"),
        (["--owner", "ts_app", "--runtime", "ts_app"], "must be two different roles"),
        (
            ["--owner", "ts_owner", "--runtime", "ts_app", "--owner-password-file", "/no/file"],
            "--owner-password-file: cannot read /no/file",
        ),
    ],
)
def test_bad_input_is_refused_by_name(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("db_roles", "--print-sql", *args)


def test_an_empty_password_file_is_refused(tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(CommandError, match=f"--runtime-password-file: {empty} is empty"):
        call_command(
            "db_roles", "--owner", "o", "--runtime", "r", "--runtime-password-file", str(empty)
        )


@pytest.mark.django_db
def test_db_roles_needs_postgresql(settings):
    from django.db import connection

    if connection.vendor == "postgresql":
        pytest.skip("the SQLite profile's refusal")
    with pytest.raises(CommandError, match="db_roles needs PostgreSQL"):
        call_command("db_roles", "--owner", "o", "--runtime", "r")


@pytest.mark.parametrize(("command", "role"), [("migrate", "owner"), ("check", None)])
def test_manage_py_runs_schema_commands_as_the_owner(monkeypatch, command, role):
    import django.core.management

    monkeypatch.delenv("TRADINGSITE_DATABASE_ROLE", raising=False)
    monkeypatch.setattr("sys.argv", ["manage.py", command])
    ran = []
    monkeypatch.setattr(django.core.management, "execute_from_command_line", ran.append)
    manage.main()
    assert ran == [["manage.py", command]]
    assert os.environ.get("TRADINGSITE_DATABASE_ROLE") == role


SHOW_DB = (
    "from django.conf import settings as s; import json; print(json.dumps("
    "[s.DATABASES['default']['USER'], s.DATABASES['default']['PASSWORD'], "
    "s.DATABASE_RUNTIME_USER]))"
)
URLS = {
    "DATABASE_URL": "postgres://ts_app:app-pw@127.0.0.1:5432/tradingsite",
    "DATABASE_MIGRATION_URL": "postgres://ts_owner:owner-pw@127.0.0.1:5432/tradingsite",
}


@pytest.mark.parametrize(
    ("env", "seen"),
    [
        ({**URLS}, ["ts_app", "app-pw", "ts_app"]),
        ({**URLS, "TRADINGSITE_DATABASE_ROLE": "owner"}, ["ts_owner", "owner-pw", "ts_app"]),
        (
            {**URLS, "TRADINGSITE_DATABASE_ROLE": "owner", "DATABASE_MIGRATION_PASSWORD": "x"},
            ["ts_owner", "x", "ts_app"],
        ),
        (  # one URL: the owner role is the runtime role, as before
            {"DATABASE_URL": URLS["DATABASE_URL"], "TRADINGSITE_DATABASE_ROLE": "owner"},
            ["ts_app", "app-pw", "ts_app"],
        ),
    ],
)
def test_the_settings_pick_the_url_of_the_role(tmp_path, env, seen):
    done = run_manage(
        "shell", "--no-imports", "-c", SHOW_DB, env={**env, "TRADINGSITE_DATA_DIR": str(tmp_path)}
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == seen


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"DATABASE_MIGRATION_URL": URLS["DATABASE_MIGRATION_URL"]},  # SQLite runtime
            "DATABASE_MIGRATION_URL is for PostgreSQL",
        ),
        ({"TRADINGSITE_DATABASE_ROLE": "admin"}, "must be 'runtime' or 'owner', not 'admin'"),
    ],
)
def test_the_settings_refuse_a_mismatch(tmp_path, env, message):
    done = run_manage("check", env={**env, "TRADINGSITE_DATA_DIR": str(tmp_path)})
    assert done.returncode != 0
    assert message in done.stderr


def test_the_check_is_quiet_outside_production(settings):
    settings.PRODUCTION = False
    assert database_runtime_role(None) == []


def test_the_check_says_when_it_cannot_reach_the_database(django_db_blocker):
    nothing_listens = {"ENGINE": "django.db.backends.postgresql", "NAME": "tradingsite"}
    nothing_listens |= {"USER": "ts_app", "HOST": "127.0.0.1", "PORT": "1"}
    unreachable = ConnectionHandler({"default": nothing_listens})["default"]
    with django_db_blocker.unblock():  # a connection of its own, to no test database
        [warning] = runtime_role_warnings(unreachable)
    assert warning.id == "ops.W003"
    assert warning.msg.startswith("Could not check the runtime database role's privileges: ")
    assert "port 1 failed" in warning.msg
