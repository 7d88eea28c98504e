"""Secrets rotation against the real PostgreSQL and Redis (dedicated test role and ACL user),
and of SECRET_KEY and the field-encryption key: new credentials work and old ones stop,
a failed check rolls back, a dry run changes nothing, and no secret reaches the audit
trail or the logs."""

import fcntl
import logging
import secrets
from types import SimpleNamespace

import psycopg2
import pytest
import redis
from django.core import signing
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from psycopg2 import sql
from psycopg2.extensions import encrypt_password

from compliance.models import AuditEvent
from conftest import require
from ops.rotation import RotationBusy, secrets_rotate, steps_parse
from ops.rotation import postgres as postgres_step
from ops.rotation import redis_acl as redis_step
from ops.rotation.postgres import admin_params, login_error, verifier_matches
from ops.rotation.redis_acl import auth_error
from ops.secret_store import FileSecretStore
from ops.tests import pg_hba
from ops.tests.rotation_support import assert_never_recorded, audit_text, one

pytestmark = pytest.mark.usefixtures("isolated_secrets")


# --- What runs, and bad input -------------------------------------------------------------


def test_unknown_steps_are_named():
    assert steps_parse("redis, postgres") == ["postgres", "redis"]
    with pytest.raises(
        ValueError, match=r"unknown secret\(s\): vault; choose from postgres, redis"
    ):
        steps_parse("postgres,vault")
    with pytest.raises(ValueError, match="no secret named"):
        steps_parse(" , ")
    with pytest.raises(CommandError, match=r"unknown secret\(s\): mysql, ssh"):
        call_command("rotate_secrets", "--only", "mysql,secret_key,ssh")


@pytest.mark.django_db
def test_batch_size_must_be_positive():
    with pytest.raises(ValueError, match="batch_size must be at least 1, not 0"):
        secrets_rotate(only="field_key", batch_size=0)


@pytest.mark.django_db
def test_embedded_profile_skips_postgres_and_redis(settings):
    if connection.vendor != "sqlite":
        pytest.skip("the embedded profile's case (SQLite, no Redis)")
    settings.REDIS_URL = ""
    pg, red = secrets_rotate(only="postgres,redis")
    assert (pg.status, red.status) == ("skipped", "skipped")
    assert (
        pg.detail == "not configured: no PostgreSQL (DATABASE_URL or POSTGRES_ROTATION_ADMIN_URL)"
    )
    assert red.detail == "not configured: no Redis (REDIS_URL and REDIS_ROTATION_ADMIN_URL)"
    assert AuditEvent.objects.filter(action="ops.secret_rotation_skipped").count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["mysql://app:pw-in-url@db/x", "postgres://app:pw-in-url@db:port/x"]
)
def test_a_bad_admin_url_is_named_without_its_password(settings, url):
    settings.POSTGRES_ROTATION_ADMIN_URL = url
    result = one(secrets_rotate(only="postgres"))
    assert (result.status, result.detail) == (
        "failed",
        "POSTGRES_ROTATION_ADMIN_URL is not a valid postgres:// URL",
    )
    assert "pw-in-url" not in audit_text()


@pytest.mark.django_db
def test_one_rotation_at_a_time(settings):
    from ops.rotation import LOCK_ID

    if connection.vendor == "postgresql":
        holder = psycopg2.connect(**admin_params())  # another session holds the lock
        holder.autocommit = True
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_ID])
        try:
            with pytest.raises(RotationBusy, match="another secrets rotation is running"):
                secrets_rotate(only="secret_key")
        finally:
            with holder.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_ID])
            holder.close()
    else:
        with open(settings.DATA_DIR / ".secrets-rotation.lock", "a") as held:
            fcntl.flock(held, fcntl.LOCK_EX)  # another process holds the lock
            with pytest.raises(RotationBusy, match="another secrets rotation is running"):
                secrets_rotate(only="secret_key")
    assert one(secrets_rotate(only="secret_key")).status == "rotated"  # released


# --- SECRET_KEY ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_secret_key_rotation_keeps_old_signatures_valid(settings, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    old_key = settings.SECRET_KEY
    signed_before = signing.dumps({"session": 42}, salt="test")
    result = one(secrets_rotate(only="secret_key"))
    assert result.status == "rotated", result.detail
    assert result.key_version == 1
    stored = FileSecretStore(tmp_path / "secrets").read_all()
    new_key = stored["SECRET_KEY"]
    assert new_key != old_key
    assert stored["SECRET_KEY_FALLBACKS"].split(",")[0] == old_key
    # Start-up would load these; a signature made with the old key still verifies.
    settings.SECRET_KEY = new_key
    settings.SECRET_KEY_FALLBACKS = stored["SECRET_KEY_FALLBACKS"].split(",")
    assert signing.loads(signed_before, salt="test") == {"session": 42}
    signed_after = signing.dumps({"session": 43}, salt="test")
    with pytest.raises(signing.BadSignature):
        signing.loads(signed_after, key=old_key, fallback_keys=[], salt="test")
    assert {f.stat().st_mode & 0o777 for f in (tmp_path / "secrets").iterdir()} == {0o600}
    event = AuditEvent.objects.get(action="ops.secret_rotated")
    assert event.after | {"detail": ""} == {
        "secret": "secret_key", "step": "done", "status": "rotated", "key_version": 1,
        "rolled_back": False, "detail": "", "notes": [],
    }  # fmt: skip
    assert_never_recorded(caplog, new_key, old_key)


@pytest.mark.django_db
def test_secret_key_fallbacks_are_bounded(settings, tmp_path):
    store = FileSecretStore(tmp_path / "secrets")
    keys = [settings.SECRET_KEY]
    for _ in range(5):
        assert one(secrets_rotate(only="secret_key")).status == "rotated"
        keys.append(store.read("SECRET_KEY"))
        # A restart: the processes load what the backend holds.
        settings.SECRET_KEY = store.read("SECRET_KEY")
        settings.SECRET_KEY_FALLBACKS = store.read("SECRET_KEY_FALLBACKS").split(",")
    stored = store.read_all()
    assert stored["SECRET_KEY"] == keys[-1]
    assert stored["SECRET_KEY_FALLBACKS"].split(",") == [keys[-2], keys[-3], keys[-4]]
    assert stored["SECRET_KEY_VERSION"] == "5"


@pytest.mark.django_db
def test_secret_key_of_running_processes_stays_valid_without_a_restart(settings, tmp_path):
    running = settings.SECRET_KEY
    for _ in range(4):
        assert one(secrets_rotate(only="secret_key")).status == "rotated"
    fallbacks = FileSecretStore(tmp_path / "secrets").read("SECRET_KEY_FALLBACKS").split(",")
    assert running in fallbacks  # still signing in processes not restarted yet
    assert len(fallbacks) == 3


@pytest.mark.django_db
def test_secret_key_failed_check_restores_the_backend(monkeypatch, tmp_path):
    store = FileSecretStore(tmp_path / "secrets")
    store.write(
        {"SECRET_KEY": "k" * 50, "SECRET_KEY_FALLBACKS": "f" * 50, "SECRET_KEY_VERSION": "7"}
    )
    before = store.read_all()
    monkeypatch.setattr(
        "ops.rotation.secret_key.signing.loads",
        lambda *a, **k: (_ for _ in ()).throw(signing.BadSignature("forced by the test")),
    )
    result = one(secrets_rotate(only="secret_key"))
    assert (result.status, result.stage, result.rolled_back) == ("failed", "verify", True)
    assert "a value signed with an old key no longer verifies" in result.detail
    assert store.read_all() == before
    assert AuditEvent.objects.get(action="ops.secret_rotation_failed").after["rolled_back"] is True


@pytest.mark.django_db
def test_secret_key_from_the_environment_is_not_rotated_in_files(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "x" * 50)
    result = one(secrets_rotate(only="secret_key"))
    assert result.status == "skipped"
    assert "SECRET_KEY is set in the environment" in result.detail
    assert not (tmp_path / "secrets").exists()


@pytest.mark.django_db
def test_k8s_backend_gets_the_rotated_key(settings, tmp_path):
    import yaml

    settings.SECRETS_BACKEND = "k8s"
    settings.SECRETS_PATH = tmp_path / "k8s" / "secret.yaml"
    settings.SECRETS_K8S_NAME, settings.SECRETS_K8S_NAMESPACE = "ts-secrets", "trading"
    assert one(secrets_rotate(only="secret_key")).status == "rotated"
    assert one(secrets_rotate(only="field_key")).status == "rotated"
    manifest = yaml.safe_load(settings.SECRETS_PATH.read_text())
    assert (manifest["kind"], manifest["metadata"]["name"]) == ("Secret", "ts-secrets")
    assert set(manifest["stringData"]) >= {
        "SECRET_KEY",
        "SECRET_KEY_FALLBACKS",
        "FIELD_ENCRYPTION_KEYS",
    }
    assert manifest["stringData"]["FIELD_ENCRYPTION_KEYS"] == (tmp_path / "field_keys").read_text()
    assert settings.SECRETS_PATH.stat().st_mode & 0o777 == 0o600


# --- Dry run ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_dry_run_changes_nothing(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    results = secrets_rotate(dry_run=True)
    assert [r.secret for r in results] == [
        "postgres",
        "redis",
        "secret_key",
        "field_key",
        "api_keys",
    ]
    planned = {r.secret: r.detail for r in results if r.status == "planned"}
    assert planned["secret_key"].startswith("would write a new SECRET_KEY")
    assert planned["field_key"].startswith("would add key v2")
    assert planned["api_keys"].startswith("would retire the API keys past their expiry")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no backend, no keyring
    events = AuditEvent.objects.filter(object_type="ops.secret")
    assert {e.action for e in events} == {"ops.secret_rotation_dry_run"}
    assert len(events) == 5
    assert "(dry run)" in caplog.text


# --- Expiring API keys --------------------------------------------------------------------


@pytest.mark.django_db
def test_api_key_hook_retires_expired_keys(account):
    from datetime import timedelta

    from django.utils import timezone

    from ops.apikeys import api_key_create
    from ops.models import ApiKey

    key, _ = api_key_create(actor=None, user=account.users.get(), account=account, label="old box")
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    result = one(secrets_rotate(only="api_keys"))
    assert (result.status, result.detail) == ("rotated", "retired 1 expired API key(s)")
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None


@pytest.mark.django_db
def test_api_key_hook_is_skipped_while_missing(monkeypatch):
    import ops.apikeys

    monkeypatch.delattr(ops.apikeys, "api_keys_expire")
    result = one(secrets_rotate(only="api_keys"))
    assert result.status == "skipped"
    assert result.detail == "ops.apikeys.api_keys_expire() does not exist yet"


# --- Task, schedule, command --------------------------------------------------------------


@pytest.mark.django_db
def test_task_and_monthly_schedule():
    from django_celery_beat.models import PeriodicTask

    from ops.tasks import rotate_secrets

    results = rotate_secrets.delay(only=["secret_key"], dry_run=True).get()
    assert [(r["secret"], r["status"]) for r in results] == [("secret_key", "planned")]
    entry = PeriodicTask.objects.get(task="ops.tasks.rotate_secrets")
    assert (entry.crontab.day_of_month, entry.crontab.hour, entry.queue) == (
        "1",
        "3",
        "maintenance",
    )


@pytest.mark.django_db
def test_command_prints_each_step(capsys, tmp_path, settings, privileged_db):
    if connection.vendor == "postgresql":  # the runtime role cannot read its own verifier
        settings.POSTGRES_ROTATION_ADMIN_URL = privileged_db.url("superuser")
    call_command("rotate_secrets", "--only", "secret_key,postgres", "--dry-run")
    out = capsys.readouterr().out
    assert "secret_key  planned: would write a new SECRET_KEY" in out
    assert "postgres    " in out
    call_command("rotate_secrets", "--only", "secret_key")
    assert "secret_key  rotated v1" in capsys.readouterr().out
    assert FileSecretStore(tmp_path / "secrets").read("SECRET_KEY_VERSION") == "1"


# --- PostgreSQL (real server) -------------------------------------------------------------


@pytest.fixture
def pg_rotation_admin(settings, privileged_db) -> None:
    """Rotation connects as a superuser (POSTGRES_ROTATION_ADMIN_URL), which may make and
    alter the test's roles; the tests may connect as the runtime role, which may not."""
    require(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    settings.POSTGRES_ROTATION_ADMIN_URL = privileged_db.url("superuser")


def _pg_admin():
    require(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    params = admin_params()
    admin = psycopg2.connect(**params)
    admin.autocommit = True
    return admin, params


def _stored_verifier(admin, role: str) -> str:
    with admin.cursor() as cursor:
        cursor.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", [role])
        return cursor.fetchone()[0]


def _make_role(method: str, *, required: bool):
    admin, params = _pg_admin()
    role = f"ts_rot_{secrets.token_hex(4)}"
    old = secrets.token_urlsafe(18)
    with admin.cursor() as cursor:
        cursor.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(role)),
            [encrypt_password(old, role, admin, "scram-sha-256")],
        )
    try:
        with pg_hba.authentication(admin, params, role, method, required=required):
            yield SimpleNamespace(name=role, old=old, params=params, admin=admin)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        admin.close()


@pytest.fixture
def pg_role(pg_rotation_admin):
    """A dedicated login role whose password the server checks (scram-sha-256)."""
    yield from _make_role("scram-sha-256", required=True)


@pytest.fixture
def trusted_pg_role(pg_rotation_admin):
    """A dedicated login role the server lets in without checking its password."""
    yield from _make_role("trust", required=False)


@pytest.mark.integration
@pytest.mark.django_db
def test_postgres_password_rotates_on_the_real_server(pg_role, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    assert login_error(pg_role.params, pg_role.name, pg_role.old) is None
    for version in (1, 2):
        previous = FileSecretStore(tmp_path / "secrets").read("DATABASE_PASSWORD") or pg_role.old
        result = one(secrets_rotate(only="postgres", postgres_role=pg_role.name))
        assert result.status == "rotated", result.detail
        assert result.key_version == version
        assert "logging in with the new password (a wrong one is refused)" in result.detail
        stored = FileSecretStore(tmp_path / "secrets").read_all()
        assert stored["DATABASE_USER"] == pg_role.name
        new = stored["DATABASE_PASSWORD"]
        assert login_error(pg_role.params, pg_role.name, new) is None
        assert "password authentication failed" in login_error(
            pg_role.params, pg_role.name, previous
        )
        assert_never_recorded(caplog, new, previous)
    events = AuditEvent.objects.filter(
        action="ops.secret_rotated", object_id=f"postgres/{pg_role.name}"
    )
    assert [e.after["key_version"] for e in events] == [1, 2]


@pytest.mark.integration
@pytest.mark.django_db
def test_postgres_failed_check_rolls_back(pg_role, monkeypatch, generated, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    store = FileSecretStore(tmp_path / "secrets")
    store.write(
        {
            "DATABASE_USER": pg_role.name,
            "DATABASE_PASSWORD": pg_role.old,
            "DATABASE_PASSWORD_VERSION": "4",
        }
    )
    before, verifier = store.read_all(), _stored_verifier(pg_role.admin, pg_role.name)
    monkeypatch.setattr(postgres_step, "login_error", lambda *args: "refused (forced by the test)")
    result = one(secrets_rotate(only="postgres", postgres_role=pg_role.name))
    assert (result.status, result.stage, result.rolled_back) == ("failed", "verify", True)
    assert "refused (forced by the test)" in result.detail
    assert "rolled back" in result.detail
    monkeypatch.undo()
    assert store.read_all() == before
    assert _stored_verifier(pg_role.admin, pg_role.name) == verifier
    assert login_error(pg_role.params, pg_role.name, pg_role.old) is None
    assert login_error(pg_role.params, pg_role.name, generated[0]) is not None
    event = AuditEvent.objects.get(action="ops.secret_rotation_failed")
    assert (event.after["step"], event.after["rolled_back"]) == ("verify", True)
    assert_never_recorded(caplog, generated[0], pg_role.old)


@pytest.mark.integration
@pytest.mark.django_db
def test_postgres_role_rotates_its_own_password(pg_role, settings, monkeypatch, tmp_path):
    """The production default: the app's own role, over its own connection (no superuser,
    so pg_authid is unreadable and the rollback must use the old password)."""
    p = pg_role.params
    settings.POSTGRES_ROTATION_ADMIN_URL = (
        f"postgres://{pg_role.name}:{pg_role.old}@{p['host']}:{p.get('port', 5432)}/{p['dbname']}"
    )
    monkeypatch.setattr(postgres_step, "login_error", lambda *args: "refused (forced by the test)")
    failed = one(secrets_rotate(only="postgres", postgres_role=pg_role.name))
    assert (failed.status, failed.rolled_back) == ("failed", True), failed.detail
    monkeypatch.undo()
    assert login_error(p, pg_role.name, pg_role.old) is None
    rotated = one(secrets_rotate(only="postgres", postgres_role=pg_role.name))
    assert rotated.status == "rotated", rotated.detail
    new = FileSecretStore(tmp_path / "secrets").read("DATABASE_PASSWORD")
    assert login_error(p, pg_role.name, new) is None
    assert login_error(p, pg_role.name, pg_role.old) is not None


@pytest.mark.integration
@pytest.mark.django_db
def test_postgres_dry_run_changes_nothing(pg_role, tmp_path):
    verifier = _stored_verifier(pg_role.admin, pg_role.name)
    result = one(secrets_rotate(only="postgres", postgres_role=pg_role.name, dry_run=True))
    assert result.status == "planned"
    assert f"would set a new password for PostgreSQL role '{pg_role.name}'" in result.detail
    assert _stored_verifier(pg_role.admin, pg_role.name) == verifier
    assert login_error(pg_role.params, pg_role.name, pg_role.old) is None
    assert not (tmp_path / "secrets").exists()


@pytest.mark.integration
@pytest.mark.django_db
def test_postgres_under_trust_is_checked_against_the_stored_verifier(trusted_pg_role, tmp_path):
    role = trusted_pg_role
    result = one(secrets_rotate(only="postgres", postgres_role=role.name))
    assert result.status == "rotated", result.detail
    assert "stored SCRAM verifier" in result.detail
    assert result.notes == ["the server does not check passwords on this path (trust)"]
    new = FileSecretStore(tmp_path / "secrets").read("DATABASE_PASSWORD")
    stored = _stored_verifier(role.admin, role.name)
    assert verifier_matches(stored, new, role.name)
    assert not verifier_matches(stored, role.old, role.name)


@pytest.mark.integration
@pytest.mark.django_db
def test_postgres_refuses_superusers_and_unknown_roles(pg_rotation_admin):
    admin, params = _pg_admin()
    with admin.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        superuser = cursor.fetchone()[0]
    admin.close()
    if superuser:
        result = one(secrets_rotate(only="postgres", postgres_role=params["user"]))
        assert result.status == "skipped"
        assert "is a superuser" in result.detail
    result = one(secrets_rotate(only="postgres", postgres_role="ts_rot_nobody"))
    assert (result.status, result.detail) == ("failed", "no role 'ts_rot_nobody' on the server")


# --- Redis (real server) ------------------------------------------------------------------


@pytest.fixture
def redis_user(redis_url, settings):
    settings.REDIS_ROTATION_ADMIN_URL = redis_url
    admin = redis.Redis.from_url(redis_url, decode_responses=True)
    name, old = f"ts_rot_{secrets.token_hex(4)}", secrets.token_urlsafe(18)
    admin.execute_command("ACL", "SETUSER", name, "on", f">{old}", "resetkeys", "-@all", "+ping")
    default_before = admin.acl_getuser("default")
    yield SimpleNamespace(name=name, old=old, admin=admin, url=redis_url)
    admin.execute_command("ACL", "DELUSER", name)
    assert admin.acl_getuser("default") == default_before  # never touched
    admin.close()


@pytest.mark.integration
@pytest.mark.django_db
def test_redis_password_rotates_on_the_real_server(redis_user, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    assert auth_error(redis_user.url, redis_user.name, redis_user.old) is None
    result = one(secrets_rotate(only="redis", redis_user=redis_user.name))
    assert result.status == "rotated", result.detail
    assert "old password(s) removed" in result.detail
    stored = FileSecretStore(tmp_path / "secrets").read_all()
    assert (stored["REDIS_USER"], stored["REDIS_PASSWORD_VERSION"]) == (redis_user.name, "1")
    new = stored["REDIS_PASSWORD"]
    assert auth_error(redis_user.url, redis_user.name, new) is None
    assert "invalid username-password pair" in auth_error(
        redis_user.url, redis_user.name, redis_user.old
    )
    assert len(redis_user.admin.acl_getuser(redis_user.name)["passwords"]) == 1
    assert_never_recorded(caplog, new, redis_user.old)


@pytest.mark.integration
@pytest.mark.django_db
def test_redis_failed_check_rolls_back(redis_user, monkeypatch, generated, tmp_path):
    hashes = redis_user.admin.acl_getuser(redis_user.name)["passwords"]
    monkeypatch.setattr(redis_step, "auth_error", lambda *args: "refused (forced by the test)")
    result = one(secrets_rotate(only="redis", redis_user=redis_user.name))
    assert (result.status, result.stage, result.rolled_back) == ("failed", "verify", True)
    monkeypatch.undo()
    assert redis_user.admin.acl_getuser(redis_user.name)["passwords"] == hashes
    assert auth_error(redis_user.url, redis_user.name, redis_user.old) is None
    assert "invalid username-password pair" in auth_error(
        redis_user.url, redis_user.name, generated[0]
    )
    assert FileSecretStore(tmp_path / "secrets").read_all() == {}


@pytest.mark.integration
@pytest.mark.django_db
def test_redis_user_rotates_its_own_password(redis_user, settings, tmp_path):
    redis_user.admin.execute_command("ACL", "SETUSER", redis_user.name, "+acl", "+config|get")
    host = redis_user.admin.connection_pool.connection_kwargs["host"]
    port = redis_user.admin.connection_pool.connection_kwargs["port"]
    settings.REDIS_URL = f"redis://{redis_user.name}:{redis_user.old}@{host}:{port}/0"
    settings.REDIS_ROTATION_ADMIN_URL = ""
    result = one(secrets_rotate(only="redis"))  # user and admin connection from REDIS_URL
    assert result.status == "rotated", result.detail
    # After retiring its old password it still reached Redis (to look for an ACL file).
    assert result.notes[0].startswith(("saved to the ACL file", "Redis keeps no ACL file"))
    new = FileSecretStore(tmp_path / "secrets").read("REDIS_PASSWORD")
    assert auth_error(redis_user.url, redis_user.name, new) is None
    assert auth_error(redis_user.url, redis_user.name, redis_user.old) is not None


@pytest.mark.integration
@pytest.mark.django_db
def test_redis_dry_run_changes_nothing_and_default_is_never_rotated(redis_user, tmp_path):
    before = redis_user.admin.acl_getuser(redis_user.name)
    result = one(secrets_rotate(only="redis", redis_user=redis_user.name, dry_run=True))
    assert result.status == "planned"
    assert f"would add a new password to Redis ACL user '{redis_user.name}'" in result.detail
    assert redis_user.admin.acl_getuser(redis_user.name) == before
    result = one(secrets_rotate(only="redis", redis_user="default"))
    assert (result.status, result.detail) == (
        "skipped",
        "the default user is never rotated: give the app a named ACL user",
    )
    result = one(secrets_rotate(only="redis", redis_user="ts_rot_nobody"))
    assert (result.status, result.detail) == (
        "failed",
        "no ACL user 'ts_rot_nobody' on the Redis server",
    )
    assert not (tmp_path / "secrets").exists()
