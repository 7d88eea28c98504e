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


@pytest.fixture
def algo(live_server, account, user_in_role, monkeypatch):
    """The shipped client for an Algo Client's trade key on ``account`` (from 127.0.0.1), with
    TRADINGSITE_URL, TRADINGSITE_KEY_ID and TRADINGSITE_SECRET set for its command line."""
    from ops.apikeys import api_key_create
    from tradingsite_client import TradingSite

    owner = user_in_role("Algo Client", "algo1")
    account.users.add(owner)
    key, secret = api_key_create(
        actor=None, user=owner, account=account, label="algo box", scope="trade",
        primary_ip="127.0.0.1",
    )  # fmt: skip
    monkeypatch.setenv("TRADINGSITE_URL", live_server.url)
    monkeypatch.setenv("TRADINGSITE_KEY_ID", key.key_id)
    monkeypatch.setenv("TRADINGSITE_SECRET", secret)
    return TradingSite(live_server.url, key_id=key.key_id, secret=secret)
