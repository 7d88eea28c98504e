"""The Ed25519 key that signs audit seals, kept out of the database.

The private key comes from ``AUDIT_SEAL_KEY`` (base64 of the 32 raw bytes) or from the PEM
file ``AUDIT_SEAL_KEY_FILE``. The embedded profile creates that file (0600) on first use;
production must be given one (``manage.py audit_seal_key PATH``; deploy check ops.W004).
A verifier needs public keys only: the signing key's, plus ``AUDIT_SEAL_PUBLIC_KEYS``
(e.g. a rotated-out key, or all an auditor's machine holds). A key's id is the first 16
hex digits of the sha256 of its raw public key.
"""

import base64
import binascii
import contextlib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KEY_BYTES = 32


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_text(public: Ed25519PublicKey) -> str:
    """The public key as AUDIT_SEAL_PUBLIC_KEYS takes it: base64 of its 32 raw bytes."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


@dataclass(frozen=True)
class SealKey:
    """The signing key and its id."""

    private: Ed25519PrivateKey

    @property
    def id(self) -> str:
        return key_id(self.private.public_key())

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self.private.sign(message)).decode()


def _raw_key(text: str, name: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ImproperlyConfigured(f"{name} is not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise ImproperlyConfigured(
            f"{name} must be the base64 of a {KEY_BYTES}-byte Ed25519 key, not {len(raw)} bytes"
        )
    return raw


def key_file_write(path: Path) -> SealKey:
    """Write a fresh private key to a new 0600 PEM file (never over an existing one)."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
        out.flush()
        os.fsync(out.fileno())
    return SealKey(private)


def _key_from_file(path: Path) -> SealKey:
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        raise ImproperlyConfigured(f"AUDIT_SEAL_KEY_FILE: no key file at {path}") from None
    except OSError as exc:
        raise ImproperlyConfigured(f"AUDIT_SEAL_KEY_FILE: cannot read {path}: {exc}") from None
    try:
        private = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            f"AUDIT_SEAL_KEY_FILE: {path} is not an unencrypted PEM private key ({exc})"
        ) from None
    if not isinstance(private, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"AUDIT_SEAL_KEY_FILE: {path} is not an Ed25519 key")
    return SealKey(private)


def seal_key() -> SealKey:
    """The signing key in force; raises ImproperlyConfigured naming what is wrong."""
    if settings.AUDIT_SEAL_KEY:
        raw = _raw_key(settings.AUDIT_SEAL_KEY, "AUDIT_SEAL_KEY")
        return SealKey(Ed25519PrivateKey.from_private_bytes(raw))
    path = Path(settings.AUDIT_SEAL_KEY_FILE)
    if not path.exists() and not settings.PRODUCTION:  # the demo's own key
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # another process made it first
            key_file_write(path)
    return _key_from_file(path)


def trusted_public_keys(signing: SealKey | None = None) -> dict[str, Ed25519PublicKey]:
    """The public keys whose seals verify, by key id: the signing key's (when one is given
    or configured) and every key in AUDIT_SEAL_PUBLIC_KEYS."""
    keys = {}
    for number, text in enumerate(settings.AUDIT_SEAL_PUBLIC_KEYS, 1):
        raw = _raw_key(text, f"AUDIT_SEAL_PUBLIC_KEYS entry {number}")
        public = Ed25519PublicKey.from_public_bytes(raw)
        keys[key_id(public)] = public
    has_private = settings.AUDIT_SEAL_KEY or Path(settings.AUDIT_SEAL_KEY_FILE).exists()
    if signing is None and (has_private or not keys):  # public keys alone: a verifier's
        signing = seal_key()
    if signing is not None:
        keys[signing.id] = signing.private.public_key()
    return keys


def signature_valid(public: Ed25519PublicKey, signature: str, message: bytes) -> bool:
    try:
        public.verify(base64.b64decode(signature, validate=True), message)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True
