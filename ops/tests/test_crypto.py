"""Field encryption: AES-256-GCM with the key version in each value, bound to its column,
and a keyring that a rotation extends without a restart."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from ops.crypto import (
    DecryptionError,
    Keyring,
    decrypt,
    encrypt,
    key_version,
    keyring,
    keyring_write,
)


@pytest.fixture
def ring(tmp_path, settings):
    settings.FIELD_ENCRYPTION_KEYRING = tmp_path / "field_keys"
    return tmp_path / "field_keys"


def test_the_embedded_keyring_is_made_on_first_use_and_private(ring):
    token = encrypt("ABCPR1234K", "compliance.client.pan")
    assert ring.stat().st_mode & 0o777 == 0o600
    assert token.startswith("v1$")
    assert "ABCPR1234K" not in token
    assert decrypt(token, "compliance.client.pan") == "ABCPR1234K"
    assert encrypt("ABCPR1234K", "compliance.client.pan") != token  # a fresh nonce each time


def test_a_value_from_another_column_or_tampered_does_not_decrypt(ring):
    token = encrypt("secret", "ops.apikey.secret")
    with pytest.raises(DecryptionError, match="another column"):
        decrypt(token, "compliance.client.pan")
    flipped = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    with pytest.raises(DecryptionError):
        decrypt(flipped, "ops.apikey.secret")
    with pytest.raises(DecryptionError, match="not an encrypted value"):
        key_version("plain text")


def test_a_new_key_is_picked_up_without_a_restart_and_old_values_still_read(ring):
    old = encrypt("secret", "c")
    keyring_write(ring, keyring().with_new_key())
    new = encrypt("secret", "c")
    assert (key_version(old), key_version(new)) == (1, 2)
    assert decrypt(old, "c") == decrypt(new, "c") == "secret"
    keyring_write(ring, keyring().without({1}))
    with pytest.raises(DecryptionError, match="key version 1 is not in the keyring"):
        decrypt(old, "c")
    with pytest.raises(ValueError, match="current key cannot be dropped"):
        keyring().without({2})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "holds no key"),
        ("1:not base64!\n", "line 1: not 'version:base64'"),
        ("1:" + "QUFBQQ==" + "\n", "line 1: the key is not 256 bits"),
        ("x:" + "A" * 44 + "\n", "line 1: not 'version:base64'"),
    ],
)
def test_a_bad_keyring_names_its_line(text, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        Keyring.parse(text)


def test_production_never_invents_a_key(ring, settings):
    settings.PRODUCTION = True
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYRING: no keyring file"):
        keyring()
    assert not ring.exists()
