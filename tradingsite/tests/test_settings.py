"""The two profiles: embedded with no environment, production with loud failures."""

import json
import re

import pytest

from conftest import run_manage

PRODUCTION = {
    "TRADINGSITE_ENV": "production",
    "SECRET_KEY": "p" * 20 + "-production-secret-key-for-the-deploy-check-0123456789",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/tradingsite",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}

SHOW = (
    "from django.conf import settings as s; import json; print(json.dumps({"
    "'db': s.DATABASES['default']['ENGINE'], 'cache': s.CACHES['default']['BACKEND'],"
    "'broker': s.CELERY_BROKER_URL, 'tz': s.TIME_ZONE, 'use_tz': s.USE_TZ,"
    "'debug': s.DEBUG, 'data': str(s.DATA_DIR)}))"
)


def show_settings(env: dict[str, str]) -> dict:
    done = run_manage("shell", "--no-imports", "-c", SHOW, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_embedded_profile_needs_no_server(tmp_path):
    seen = show_settings({"TRADINGSITE_DATA_DIR": str(tmp_path)})
    assert seen["db"] == "django.db.backends.sqlite3"
    assert seen["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert seen["broker"] == "filesystem://localhost/"
    assert seen["tz"] == "Asia/Kolkata"
    assert seen["use_tz"] is True
    assert seen["debug"] is False
    assert (tmp_path / "celery-broker" / "queue").is_dir()
    key = tmp_path / "secret_key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert len(key.read_text()) >= 50


def test_embedded_secret_key_is_kept_between_starts(tmp_path):
    show_settings({"TRADINGSITE_DATA_DIR": str(tmp_path)})
    first = (tmp_path / "secret_key").read_text()
    show_settings({"TRADINGSITE_DATA_DIR": str(tmp_path)})
    assert (tmp_path / "secret_key").read_text() == first


def test_production_profile_uses_postgres_and_redis(tmp_path):
    seen = show_settings({**PRODUCTION, "TRADINGSITE_DATA_DIR": str(tmp_path)})
    assert seen["db"] == "django.db.backends.postgresql"
    assert seen["cache"] == "django_redis.cache.RedisCache"
    assert seen["broker"] == PRODUCTION["REDIS_URL"]


@pytest.mark.parametrize("missing", [["SECRET_KEY"], ["DATABASE_URL", "REDIS_URL"], ["REDIS_URL"]])
def test_production_names_every_missing_variable(tmp_path, missing):
    env = {k: v for k, v in PRODUCTION.items() if k not in missing}
    done = run_manage("check", env={**env, "TRADINGSITE_DATA_DIR": str(tmp_path)})
    assert done.returncode != 0
    assert (
        "TRADINGSITE_ENV=production requires these environment variables: " + ", ".join(missing)
        in done.stderr
    )


def test_production_refuses_debug(tmp_path):
    done = run_manage(
        "check", env={**PRODUCTION, "DEBUG": "true", "TRADINGSITE_DATA_DIR": str(tmp_path)}
    )
    assert done.returncode != 0
    assert "DEBUG must be off" in done.stderr


def test_unknown_profile_is_refused(tmp_path):
    done = run_manage(
        "check", env={"TRADINGSITE_ENV": "staging", "TRADINGSITE_DATA_DIR": str(tmp_path)}
    )
    assert done.returncode != 0
    assert "TRADINGSITE_ENV must be 'embedded' or 'production', not 'staging'" in done.stderr


def test_production_passes_the_deploy_check(tmp_path):
    (tmp_path / "static").mkdir()  # as `collectstatic` leaves it (ops.E003 wants the manifest)
    (tmp_path / "static" / "staticfiles.json").write_text('{"paths": {}, "version": "1.1"}')
    keyring = tmp_path / "field_keys"
    assert run_manage("new_keyring", str(keyring), env={}).returncode == 0
    assert keyring.stat().st_mode & 0o777 == 0o600
    seal_key = tmp_path / "audit_seal_key.pem"
    assert run_manage("audit_seal_key", str(seal_key), env={}).returncode == 0
    env = {
        **PRODUCTION,
        "TRADINGSITE_DATA_DIR": str(tmp_path),
        "FIELD_ENCRYPTION_KEYRING": str(keyring),
        "AUDIT_SEAL_KEY_FILE": str(seal_key),
        "DATABASE_URL": "postgres://tradingsite_app@127.0.0.1:1/tradingsite",
    }
    # No database answers on port 1, so all that is left is that the runtime role could not
    # be checked (ops.W003); ops/tests/test_db_roles_pg.py passes the check in full.
    done = run_manage("check", "--deploy", "--fail-level", "ERROR", env=env)
    assert done.returncode == 0, done.stderr
    assert re.findall(r"\((\w+\.[WE]\d+)\)", done.stderr) == ["ops.W003"], done.stderr
    assert "Could not check the runtime database role's privileges" in done.stderr


def test_production_refuses_to_start_without_a_keyring(tmp_path):
    env = {**PRODUCTION, "TRADINGSITE_DATA_DIR": str(tmp_path)}
    done = run_manage("check", "--deploy", env=env)
    assert done.returncode != 0
    assert f"FIELD_ENCRYPTION_KEYRING: no keyring file at {tmp_path / 'field_keys'}" in done.stderr
    assert not (tmp_path / "field_keys").exists()
    again = run_manage("new_keyring", str(tmp_path / "field_keys"), env={})
    assert again.returncode == 0
    refused = run_manage("new_keyring", str(tmp_path / "field_keys"), env={})
    assert "exists; a keyring is never overwritten" in refused.stderr


def test_env_example_lists_every_variable_the_settings_read():
    from django.conf import settings

    source = (settings.BASE_DIR / "tradingsite" / "settings.py").read_text()
    read = set(re.findall(r'env(?:\.\w+)?\("([A-Z_]+)"', source))
    example = (settings.BASE_DIR / ".env.example").read_text()
    listed = set(re.findall(r"^#?\s*([A-Z_]+)=", example, flags=re.M))
    assert read - listed == set(), "add these to .env.example"


MAIL = (
    "from django.conf import settings as s; import json; print(json.dumps({"
    "'backend': s.EMAIL_BACKEND, 'path': str(getattr(s, 'EMAIL_FILE_PATH', '')),"
    "'host': getattr(s, 'EMAIL_HOST', ''), 'attempts': s.CONTRACT_NOTE_DISPATCH_ATTEMPTS}))"
)


def mail_settings(env: dict[str, str]) -> dict:
    done = run_manage("shell", "--no-imports", "-c", MAIL, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_demo_writes_mail_to_files_and_email_url_sends_it(tmp_path):
    demo = mail_settings({"TRADINGSITE_DATA_DIR": str(tmp_path)})
    assert demo["backend"] == "django.core.mail.backends.filebased.EmailBackend"
    assert demo["path"] == str(tmp_path / "mail")
    assert demo["attempts"] == 5
    smtp = {"EMAIL_URL": "smtp+tls://user:pw@mail.example.in:587"}
    for env in ({"TRADINGSITE_DATA_DIR": str(tmp_path)}, {**PRODUCTION}):
        sent = mail_settings({**env, **smtp, "TRADINGSITE_DATA_DIR": str(tmp_path)})
        assert sent["backend"] == "django.core.mail.backends.smtp.EmailBackend"
        assert sent["host"] == "mail.example.in"
    production = mail_settings({**PRODUCTION, "TRADINGSITE_DATA_DIR": str(tmp_path)})
    assert production["backend"] == "django.core.mail.backends.console.EmailBackend"


def test_dispatch_attempts_below_one_are_refused(tmp_path):
    done = run_manage(
        "check",
        env={"TRADINGSITE_DATA_DIR": str(tmp_path), "CONTRACT_NOTE_DISPATCH_ATTEMPTS": "0"},
    )
    assert done.returncode != 0
    assert "CONTRACT_NOTE_DISPATCH_ATTEMPTS must be at least 1" in done.stderr
