"""AES-256-GCM for sensitive fields (API secrets, identity numbers, bank details).

A stored value reads ``v<version>$<base64(nonce + ciphertext + tag)>``: the key version
travels with it, so a rotation adds a key, makes it current, and re-encrypts rows in batches
while the older keys still decrypt what is not done yet. The column and model are bound in
as associated data, so a ciphertext copied into another column does not decrypt.

The keyring is a file (``FIELD_ENCRYPTION_KEYRING``) with one ``version:base64-key`` per
line, the current key first, and an ``index:base64-key`` line: the key of the blind
indexes (keyed digests) that let an encrypted column be unique and looked up. It is re-read
whenever the file changes, so a rotation reaches every process without a restart (a
Kubernetes Secret mounted as a file updates in place). The embedded profile creates it
(0600) on first use; production must provide it.
"""

import base64
import hashlib
import hmac
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

NONCE_BYTES = 12
_lock = threading.Lock()
_cache: dict[str, tuple[tuple[int, int], "Keyring"]] = {}


class DecryptionError(ValueError):
    """A value that does not decrypt: unknown key version, wrong column, or tampered."""


@dataclass(frozen=True)
class Keyring:
    keys: dict[int, bytes]
    current: int
    index_key: bytes = b""  # for blind indexes (lookups of encrypted values); never rotated

    @classmethod
    def parse(cls, text: str, source: str = "keyring") -> "Keyring":
        keys: dict[int, bytes] = {}
        order: list[int] = []
        index_key = b""
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            version, _, encoded = line.strip().partition(":")
            if version == "index":
                index_key = base64.b64decode(encoded)
                continue
            try:
                key = base64.b64decode(encoded, validate=True)
                version_number = int(version)
            except ValueError as exc:
                raise ImproperlyConfigured(f"{source} line {number}: not 'version:base64'") from exc
            if len(key) != 32:
                raise ImproperlyConfigured(f"{source} line {number}: the key is not 256 bits")
            if version_number in keys:
                raise ImproperlyConfigured(f"{source} line {number}: version {version} repeats")
            keys[version_number] = key
            order.append(version_number)
        if not order:
            raise ImproperlyConfigured(f"{source} holds no key")
        return cls(keys, order[0], index_key)

    @classmethod
    def fresh(cls) -> "Keyring":
        return cls({1: AESGCM.generate_key(bit_length=256)}, 1, secrets.token_bytes(32))

    def dumps(self) -> str:
        rest = sorted((v for v in self.keys if v != self.current), reverse=True)
        lines = [f"{v}:{base64.b64encode(self.keys[v]).decode()}\n" for v in [self.current, *rest]]
        if self.index_key:
            lines.append(f"index:{base64.b64encode(self.index_key).decode()}\n")
        return "".join(lines)

    def with_new_key(self) -> "Keyring":
        """This keyring plus a fresh current key (older keys kept for decryption)."""
        version = max(self.keys) + 1
        keys = {**self.keys, version: AESGCM.generate_key(bit_length=256)}
        return Keyring(keys, version, self.index_key)

    def without(self, versions: set[int]) -> "Keyring":
        if self.current in versions:
            raise ValueError("the current key cannot be dropped")
        keys = {v: k for v, k in self.keys.items() if v not in versions}
        return Keyring(keys, self.current, self.index_key)


def keyring_write(path: Path, ring: Keyring) -> None:
    """Replace the keyring file atomically, readable by its owner only."""
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    with os.fdopen(os.open(draft, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600), "w") as out:
        out.write(ring.dumps())
        out.flush()
        os.fsync(out.fileno())
    os.replace(draft, path)


def keyring() -> Keyring:
    """The keyring in force, re-read when its file changes."""
    path = Path(settings.FIELD_ENCRYPTION_KEYRING)
    with _lock:
        try:
            stat = path.stat()
        except FileNotFoundError:
            if settings.PRODUCTION:
                raise ImproperlyConfigured(
                    f"FIELD_ENCRYPTION_KEYRING: no keyring file at {path}"
                ) from None
            path.parent.mkdir(parents=True, exist_ok=True)
            keyring_write(path, Keyring.fresh())
            stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        cached = _cache.get(str(path))
        if cached and cached[0] == stamp:
            return cached[1]
        ring = Keyring.parse(path.read_text(), str(path))
        if not ring.index_key and not settings.PRODUCTION:  # a keyring from before blind indexes
            ring = Keyring(ring.keys, ring.current, secrets.token_bytes(32))
            keyring_write(path, ring)
            stat = path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        _cache[str(path)] = (stamp, ring)
        return ring


def blind_index(value: str, context: str) -> str:
    """A keyed digest of ``value`` for exact lookups and uniqueness of an encrypted column."""
    key = keyring().index_key
    if not key:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYRING has no 'index:' line")
    return hmac.new(key, f"{context}\0{value}".encode(), hashlib.sha256).hexdigest()


def encrypt(plaintext: str, context: str) -> str:
    ring = keyring()
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(ring.keys[ring.current]).encrypt(nonce, plaintext.encode(), context.encode())
    return f"v{ring.current}${base64.b64encode(nonce + sealed).decode()}"


def key_version(token: str) -> int:
    version, sep, _ = token.partition("$")
    if not sep or not version.startswith("v") or not version[1:].isdigit():
        raise DecryptionError("not an encrypted value")
    return int(version[1:])


def decrypt(token: str, context: str) -> str:
    version = key_version(token)
    key = keyring().keys.get(version)
    if key is None:
        raise DecryptionError(f"key version {version} is not in the keyring")
    try:
        raw = base64.b64decode(token.partition("$")[2], validate=True)
    except ValueError as exc:
        raise DecryptionError("the value is not valid base64") from exc
    try:
        return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode()).decode()
    except InvalidTag as exc:
        raise DecryptionError("the value does not decrypt (tampered, or another column's)") from exc


class EncryptedTextField(models.TextField):
    """Text kept encrypted at rest; Python code sees the plaintext. Not searchable: keep a
    keyed digest beside it where lookups are needed."""

    description = "Text encrypted with AES-256-GCM"

    def context(self) -> str:
        return f"{self.model._meta.label_lower}.{self.name}"

    def from_db_value(self, value, expression, connection):
        return None if value is None else decrypt(value, self.context())

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return None if value is None else encrypt(value, self.context())

    def formfield(self, **kwargs):
        from django import forms

        return super().formfield(**{"widget": forms.TextInput, **kwargs})
