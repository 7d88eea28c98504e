"""Without `collectstatic` the embedded profile still serves the admin (and says what to run);
production's deploy check refuses to go on without the static files manifest."""

import json

from django.core.checks import Error, Warning

from conftest import run_manage
from ops.checks import static_manifest_embedded, static_manifest_production
from tradingsite.tests.test_settings import PRODUCTION

FETCH = (
    "import json; from django.test import Client; "
    "c = Client(raise_request_exception=False, HTTP_HOST='127.0.0.1'); "
    "page = c.get('/admin/login/'); css = c.get('/static/admin/css/base.css'); "
    "print(json.dumps({'login': page.status_code, 'css': css.status_code, "
    "'plain_link': '/static/admin/css/base.css' in page.content.decode()}))"
)


def test_the_embedded_profile_serves_the_admin_before_collectstatic(tmp_path):
    env = {"TRADINGSITE_DATA_DIR": str(tmp_path)}
    assert run_manage("migrate", "-v", "0", env=env).returncode == 0

    fetched = run_manage("shell", "--no-imports", "-c", FETCH, env=env)
    checked = run_manage("check", env=env)

    assert fetched.returncode == 0, fetched.stderr
    answers = json.loads(fetched.stdout.strip().splitlines()[-1])
    assert answers == {"login": 200, "css": 200, "plain_link": True}
    assert not any((tmp_path / "static").iterdir())  # nothing was collected
    assert checked.returncode == 0, checked.stderr
    assert "(ops.W001) No static files manifest in STATIC_ROOT" in checked.stderr
    assert "HINT: Run `python manage.py collectstatic --noinput`" in checked.stderr


def test_the_production_deploy_check_fails_without_the_manifest(tmp_path):
    keyring = tmp_path / "field_keys"
    assert run_manage("new_keyring", str(keyring), env={}).returncode == 0
    env = {
        **PRODUCTION,
        "TRADINGSITE_DATA_DIR": str(tmp_path),
        "FIELD_ENCRYPTION_KEYRING": str(keyring),
    }

    done = run_manage("check", "--deploy", env=env)
    plain = run_manage("check", env=env)  # migrate and the like still start

    assert done.returncode != 0
    assert "(ops.E003) No static files manifest in STATIC_ROOT" in done.stderr
    assert "collectstatic --noinput" in done.stderr
    assert plain.returncode == 0, plain.stderr


def manifest_storage(settings, root) -> None:
    settings.STATIC_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "tradingsite.staticfiles.EmbeddedStaticFilesStorage"},
    }


def test_the_checks_follow_the_manifest_and_the_profile(settings, tmp_path):
    manifest_storage(settings, tmp_path)
    settings.PRODUCTION = False
    [warning] = static_manifest_embedded(None)
    assert (type(warning), warning.id) == (Warning, "ops.W001")
    assert static_manifest_production(None) == []
    settings.PRODUCTION = True
    [error] = static_manifest_production(None)
    assert (type(error), error.id) == (Error, "ops.E003")
    assert static_manifest_embedded(None) == []

    (tmp_path / "staticfiles.json").write_text('{"paths": {}, "version": "1.1", "hash": ""}')
    assert static_manifest_production(None) == []
    settings.PRODUCTION = False
    assert static_manifest_embedded(None) == []


def test_the_embedded_storage_uses_hashed_names_once_collected(settings, tmp_path):
    from django.contrib.staticfiles.storage import staticfiles_storage

    manifest_storage(settings, tmp_path)
    assert staticfiles_storage.url("admin/css/base.css") == "/static/admin/css/base.css"

    manifest = {"paths": {"admin/css/base.css": "admin/css/base.0123abcd.css"}, "version": "1.1"}
    (tmp_path / "staticfiles.json").write_text(json.dumps({**manifest, "hash": "x"}))
    manifest_storage(settings, tmp_path)  # a new storage, as at the next start
    assert staticfiles_storage.url("admin/css/base.css") == "/static/admin/css/base.0123abcd.css"
