"""Django's SECRET_KEY, rotated through SECRET_KEY_FALLBACKS.

The new key becomes SECRET_KEY and the old one goes first among the fallbacks (at most
``FALLBACKS_KEPT`` are kept), so sessions, password-reset links and other signed values
made with the old key stay valid. Processes load the new key when they restart; until
then they sign with the old one, which every restarted process still accepts.
"""

import os
from collections.abc import Mapping

from django.conf import settings
from django.core import signing
from django.core.management.utils import get_random_secret_key

from ops.rotation.base import CredentialStep, StepSkipped, VerificationFailed
from ops.secret_store import FileSecretStore

FALLBACKS_KEPT = 3
SALT = "ops.rotation.secret_key"


def _fallbacks(text: str | None) -> list[str]:
    return [key for key in (text or "").split(",") if key]


class SecretKey(CredentialStep):
    name = "secret_key"
    store_keys = ("SECRET_KEY", "SECRET_KEY_FALLBACKS", "SECRET_KEY_VERSION")

    def check(self) -> None:
        if isinstance(self.ctx.store, FileSecretStore) and os.environ.get("SECRET_KEY"):
            raise StepSkipped(
                "SECRET_KEY is set in the environment, which wins over the file backend: "
                "rotate it where it is set"
            )
        stored = self.ctx.store.read_all()
        # The backend may already hold a key this process has not loaded yet.
        self.old = self.secret(stored.get("SECRET_KEY") or settings.SECRET_KEY)
        older = [self.old, settings.SECRET_KEY, *_fallbacks(stored.get("SECRET_KEY_FALLBACKS"))]
        older += settings.SECRET_KEY_FALLBACKS
        for key in older:
            self.secret(key)
        self.fallbacks = list(dict.fromkeys(older))[:FALLBACKS_KEPT]

    def plan(self) -> str:
        return (
            f"would write a new SECRET_KEY to {self.ctx.store.location} and keep "
            f"{len(self.fallbacks)} old key(s) in SECRET_KEY_FALLBACKS (at most {FALLBACKS_KEPT})"
        )

    def generate(self) -> str:
        return get_random_secret_key()  # its alphabet has no comma, the fallbacks' separator

    def apply(self, new: str) -> None:
        """Nothing to change on a server: the backend is where SECRET_KEY lives."""

    def backend_values(self, new: str) -> Mapping[str, str]:
        self.key_version = self.next_version("SECRET_KEY_VERSION")
        return {
            "SECRET_KEY": new,
            "SECRET_KEY_FALLBACKS": ",".join(self.fallbacks),
            "SECRET_KEY_VERSION": str(self.key_version),
        }

    def verify(self, new: str) -> str:
        stored = self.ctx.store.read_all()
        key, fallbacks = stored.get("SECRET_KEY"), _fallbacks(stored.get("SECRET_KEY_FALLBACKS"))
        if key != new:
            raise VerificationFailed("the backend does not give the new SECRET_KEY back")
        probe = {"probe": "secret-key-rotation"}
        for old in self.fallbacks:
            token = signing.dumps(probe, key=old, salt=SALT)
            try:
                signing.loads(token, key=key, fallback_keys=fallbacks, salt=SALT)
            except signing.BadSignature:
                raise VerificationFailed(
                    "a value signed with an old key no longer verifies"
                ) from None
        fresh = signing.dumps(probe, key=key, salt=SALT)
        if signing.loads(fresh, key=key, fallback_keys=fallbacks, salt=SALT) != probe:
            raise VerificationFailed("a value signed with the new key does not verify")
        try:
            signing.loads(fresh, key=self.old, salt=SALT)
        except signing.BadSignature:
            return "signing with the new key and checking values signed with the old ones"
        raise VerificationFailed("the new key signs like the old one")

    def undo(self, new: str) -> None:
        """The backend restore (done by the caller) is the whole undo."""

    def done(self, verified_by: str) -> str:
        return f"rotated; verified by {verified_by}; processes load it when they restart"
