"""Fixtures of the ops tests (none of them autouse)."""

import pytest

from ops.rotation import base as rotation_base


@pytest.fixture
def isolated_secrets(settings, tmp_path, monkeypatch):
    """Backend, keyring and lock in a temporary folder; nothing configured for rotation."""
    settings.DATA_DIR = tmp_path
    settings.SECRETS_BACKEND = "file"
    settings.SECRETS_PATH = tmp_path / "secrets"
    settings.FIELD_ENCRYPTION_KEYRING = tmp_path / "field_keys"
    settings.POSTGRES_ROTATION_ROLE = settings.POSTGRES_ROTATION_ADMIN_URL = ""
    settings.REDIS_ROTATION_USER = settings.REDIS_ROTATION_ADMIN_URL = ""
    monkeypatch.delenv("SECRET_KEY", raising=False)


@pytest.fixture
def generated(monkeypatch) -> list[str]:
    """Every password the steps generate (the new one first, then probes)."""
    made = []
    real = rotation_base.new_password

    def recorded() -> str:
        made.append(real())
        return made[-1]

    monkeypatch.setattr(rotation_base, "new_password", recorded)
    return made
