"""The secrets backend: 0600 files, a valid Kubernetes Secret manifest, and settings that
load the rotated values at start-up (with the environment still winning)."""

import base64
import json
import re
import stat

import pytest
import yaml
from django.core.exceptions import ImproperlyConfigured

from conftest import run_manage
from ops.secret_store import (
    FileSecretStore,
    KubernetesSecretStore,
    password_for,
    secret_store_open,
    url_with_password,
)

K8S_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")  # what Kubernetes accepts as a Secret's data key


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_file_backend_writes_one_0600_file_per_secret(tmp_path):
    store = FileSecretStore(tmp_path / "secrets")
    store.write({"SECRET_KEY": "k1", "REDIS_PASSWORD": "r1"})
    store.write({"SECRET_KEY": "k2"})
    assert store.read_all() == {"REDIS_PASSWORD": "r1", "SECRET_KEY": "k2"}
    assert mode(tmp_path / "secrets") == 0o700
    assert {mode(f) for f in (tmp_path / "secrets").iterdir()} == {0o600}
    assert sorted(f.name for f in (tmp_path / "secrets").iterdir()) == [
        "REDIS_PASSWORD",
        "SECRET_KEY",
    ]  # no drafts left behind
    store.write({"REDIS_PASSWORD": None})
    assert store.read_all() == {"SECRET_KEY": "k2"}


def test_k8s_backend_writes_a_valid_secret_manifest(tmp_path):
    path = tmp_path / "deploy" / "secret.yaml"
    store = KubernetesSecretStore(path, name="tradingsite-secrets", namespace="trading")
    store.write({"SECRET_KEY": "k-1", "FIELD_ENCRYPTION_KEYS": "2:abc=\n1:def=\n"})
    store.write({"DATABASE_PASSWORD": "p@ss:word/1"})
    assert mode(path) == 0o600
    manifest = yaml.safe_load(path.read_text())
    assert manifest["apiVersion"] == "v1"
    assert manifest["kind"] == "Secret"
    assert manifest["type"] == "Opaque"
    assert manifest["metadata"]["name"] == "tradingsite-secrets"
    assert manifest["metadata"]["namespace"] == "trading"
    assert manifest["stringData"] == {
        "DATABASE_PASSWORD": "p@ss:word/1",
        "FIELD_ENCRYPTION_KEYS": "2:abc=\n1:def=\n",
        "SECRET_KEY": "k-1",
    }
    assert all(K8S_KEY.match(key) for key in manifest["stringData"])
    assert store.read_all() == manifest["stringData"]


def test_k8s_backend_reads_base64_data_too(tmp_path):
    path = tmp_path / "secret.yaml"
    encoded = base64.b64encode(b"from-kubectl").decode()
    path.write_text(
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\ndata:\n  SECRET_KEY: {encoded}\n"
    )
    store = KubernetesSecretStore(path, name="s", namespace="default")
    assert store.read_all() == {"SECRET_KEY": "from-kubectl"}
    path.write_text("apiVersion: v1\nkind: ConfigMap\n")
    with pytest.raises(ImproperlyConfigured, match="not a Kubernetes Secret manifest"):
        store.read_all()
    path.write_text("data:\n  SECRET_KEY: not base64!\nkind: Secret\n")
    with pytest.raises(ImproperlyConfigured, match=r"data.SECRET_KEY is not base64"):
        store.read_all()


def test_bad_configuration_is_named(tmp_path):
    with pytest.raises(
        ImproperlyConfigured, match="SECRETS_BACKEND must be one of file, k8s, not 'vault'"
    ):
        secret_store_open("vault", tmp_path)
    with pytest.raises(
        ImproperlyConfigured, match="SECRETS_K8S_NAME='Trading_Secrets' is not a valid"
    ):
        secret_store_open("k8s", tmp_path / "s.yaml", k8s_name="Trading_Secrets", k8s_namespace="x")
    with pytest.raises(ValueError, match=r"'\.\./etc/passwd' is not an environment-variable name"):
        FileSecretStore(tmp_path).write({"../etc/passwd": "x"})


def test_passwords_apply_only_to_their_user():
    stored = {"DATABASE_USER": "app", "DATABASE_PASSWORD": "new"}
    assert password_for("app", stored, "DATABASE") == "new"
    assert password_for("reporting", stored, "DATABASE") == ""
    assert password_for("", stored, "DATABASE") == ""
    assert (
        url_with_password("redis://app:old@[::1]:6379/0", "n/w") == "redis://app:n%2Fw@[::1]:6379/0"
    )
    assert url_with_password("redis://127.0.0.1:6379/1", "pw") == "redis://:pw@127.0.0.1:6379/1"


SHOW = (
    "from django.conf import settings as s; import json; print(json.dumps({"
    "'key': s.SECRET_KEY, 'fallbacks': s.SECRET_KEY_FALLBACKS,"
    "'db_password': s.DATABASES['default'].get('PASSWORD'), 'redis': s.REDIS_URL}))"
)


def settings_seen(env: dict) -> dict:
    done = run_manage("shell", "--no-imports", "-c", SHOW, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_settings_load_the_backend_and_the_environment_wins(tmp_path):
    FileSecretStore(tmp_path / "secrets").write(
        {
            "SECRET_KEY": "rotated-" + "k" * 50,
            "SECRET_KEY_FALLBACKS": "old-1,old-2",
            "DATABASE_USER": "app",
            "DATABASE_PASSWORD": "db-rotated",
            "REDIS_USER": "app",
            "REDIS_PASSWORD": "redis-rotated",
        }
    )
    env = {
        "TRADINGSITE_DATA_DIR": str(tmp_path),
        "DATABASE_URL": "postgres://app:db-initial@127.0.0.1:5432/x",
        "REDIS_URL": "redis://app:redis-initial@127.0.0.1:6379/0",
    }
    seen = settings_seen(env)
    assert seen["key"] == "rotated-" + "k" * 50
    assert seen["fallbacks"] == ["old-1", "old-2"]
    assert seen["db_password"] == "db-rotated"
    assert seen["redis"] == "redis://app:redis-rotated@127.0.0.1:6379/0"
    assert not (tmp_path / "secret_key").exists()  # no embedded key needed

    other_users = {
        **env,
        "DATABASE_URL": "postgres://reporting:db-initial@127.0.0.1:5432/x",
        "REDIS_URL": "redis://cache:redis-initial@127.0.0.1:6379/0",
    }
    seen = settings_seen(other_users)
    assert seen["db_password"] == "db-initial"
    assert seen["redis"] == "redis://cache:redis-initial@127.0.0.1:6379/0"

    seen = settings_seen(
        {**env, "SECRET_KEY": "from-env-" + "e" * 50, "DATABASE_PASSWORD": "db-env"}
    )
    assert seen["key"] == "from-env-" + "e" * 50
    assert seen["db_password"] == "db-env"


def test_production_accepts_a_secret_key_from_the_backend(tmp_path):
    env = {
        "TRADINGSITE_ENV": "production",
        "TRADINGSITE_DATA_DIR": str(tmp_path),
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/tradingsite",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    done = run_manage("check", env=env)
    assert "requires these environment variables: SECRET_KEY" in done.stderr
    FileSecretStore(tmp_path / "secrets").write(
        {"SECRET_KEY": "p" * 30 + "-rotated-production-key-0123456789"}
    )
    assert settings_seen(env)["key"].endswith("-rotated-production-key-0123456789")
