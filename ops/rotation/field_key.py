"""Field-encryption key: a new AES-256 key becomes current, then every value of every
``EncryptedTextField`` column is re-encrypted with it, in batches.

Resumable: the keyring keeps every older key, so a run that stops half-way leaves all
values readable, and the next run, finding values still on older keys, carries on with
the current key instead of adding another. Stored tokens are read raw (cast to text),
so the field decrypts only the values that need re-encrypting. Older keys are dropped
only on request, and only once no value uses them. With the k8s backend the new keyring
is also written to the Secret manifest (``FIELD_ENCRYPTION_KEYS``), to be mounted at
FIELD_ENCRYPTION_KEYRING.
"""

import os
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.db.models.functions import Cast

from ops.crypto import DecryptionError, EncryptedTextField, decrypt, encrypt, keyring, keyring_write
from ops.progress import job_progress
from ops.rotation.base import RotationFailed, RotationStep, VerificationFailed
from ops.secret_store import KubernetesSecretStore

JOB_KIND = "ops.field_key_rotation"
PROBE_CONTEXT = "ops.rotation.probe"


def encrypted_columns() -> list[tuple[type[models.Model], EncryptedTextField]]:
    """Every EncryptedTextField of every installed model (each column once)."""
    return [
        (model, field)
        for model in apps.get_models()
        if not model._meta.proxy
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField) and field.model is model
    ]


def _tokens(model: type[models.Model], field: EncryptedTextField) -> models.QuerySet:
    raw = Cast(field.attname, output_field=models.TextField())
    return model._base_manager.annotate(_token=raw).filter(_token__isnull=False)


def stale_values(model, field, version: int) -> models.QuerySet:
    """Rows of ``model`` whose ``field`` is not encrypted with key ``version``."""
    return _tokens(model, field).exclude(_token__startswith=f"v{version}$")


def stale_count(version: int) -> int:
    return sum(stale_values(m, f, version).count() for m, f in encrypted_columns())


def reencrypt_batch(model, field, version: int, batch_size: int) -> int:
    """Re-encrypt up to ``batch_size`` values not on key ``version``; return how many."""
    stale = stale_values(model, field, version).order_by("pk")
    rows = list(stale.values_list("pk", "_token")[:batch_size])
    with transaction.atomic():
        for pk, token in rows:
            try:
                plaintext = decrypt(token, field.context())
            except DecryptionError as exc:
                raise DecryptionError(f"{model._meta.label}.{field.name} pk={pk}: {exc}") from None
            # Only if nobody rewrote it meanwhile (a new write is on the current key anyway).
            same = _tokens(model, field).filter(pk=pk, _token=token)
            same.update(**{field.attname: plaintext})
    if stale.filter(pk__in=[pk for pk, _ in rows]).exists():
        raise RotationFailed(
            f"{model._meta.label}.{field.name}: re-encrypted values did not change",
            stage="re-encrypt",
        )
    return len(rows)


class FieldKey(RotationStep):
    name = "field_key"

    def check(self) -> None:
        self.path = Path(settings.FIELD_ENCRYPTION_KEYRING)
        target = self.path if self.path.exists() else self.path.parent
        if target.exists() and not os.access(target, os.W_OK):
            raise RotationFailed(
                f"the keyring {self.path} is not writable here, so no key can be added "
                "(run the rotation where the keyring file can be written)",
                stage="check",
            )
        self.columns = encrypted_columns()
        self.current = keyring().current if self.path.exists() else None
        self.stale = stale_count(self.current) if self.current else 0
        self.key_version = self.current

    def plan(self) -> str:
        columns = f"{len(self.columns)} encrypted column(s)"
        if self.stale:
            text = (
                f"would resume: re-encrypt the {self.stale} value(s) still on older keys with "
                f"the current key v{self.current} ({columns})"
            )
        else:
            total = stale_count(0)  # no key has version 0: every value
            text = (
                f"would add key v{(self.current or 1) + 1} to {self.path}, make it current, "
                f"and re-encrypt {total} value(s) in {columns}"
            )
        if self.ctx.drop_old_keys:
            text += ", then drop the older keys"
        return text

    def _write(self, ring) -> None:
        keyring_write(self.path, ring)
        if isinstance(self.ctx.store, KubernetesSecretStore):
            self.ctx.store.write({"FIELD_ENCRYPTION_KEYS": ring.dumps()})

    def run(self) -> str:
        self.stage = "generate"
        try:
            ring = keyring()  # the embedded profile creates the first key here
        except ImproperlyConfigured as exc:
            raise RotationFailed(str(exc), stage="generate") from None
        resumed = self.stale > 0
        if not resumed:
            ring = ring.with_new_key()
            self.stage = "write"
            self._write(ring)
        self.key_version = version = ring.current
        self.stage = "re-encrypt"
        done = 0
        try:
            with job_progress(
                JOB_KIND, f"re-encrypt to field key v{version}", total=stale_count(version),
                unit="values", stream=self.ctx.stream,
            ) as job:  # fmt: skip
                for model, field in self.columns:
                    label = f"{model._meta.label}.{field.name}"
                    while count := reencrypt_batch(model, field, version, self.ctx.batch_size):
                        done += count
                        job.advance(count, message=label)
                job.finish(result={"key_version": version, "values": done}, message="done")
        except Exception as exc:
            raise RotationFailed(
                f"stopped after re-encrypting {done} value(s): {exc}. Every key stays in the "
                "keyring, so all values still decrypt; run again to resume",
                stage="re-encrypt",
            ) from None
        self.stage = "verify"
        try:
            self._verify(version)
        except VerificationFailed as exc:
            raise RotationFailed(
                f"verify failed: {exc}. Every key stays in the keyring; run again to resume",
                stage="verify",
            ) from None
        text = f"key v{version} is current; re-encrypted {done} value(s)"
        if resumed:
            text = "resumed; " + text
        if self.ctx.drop_old_keys:
            old = set(ring.keys) - {version}
            if old:
                self.stage = "drop"
                self._write(keyring().without(old))
                text += f"; dropped key(s) {', '.join(f'v{v}' for v in sorted(old))}"
        self.stage = "done"
        return text + "; verified by reading every value's key version and a round trip"

    def _verify(self, version: int) -> None:
        if keyring().current != version:
            raise VerificationFailed(f"the keyring file does not hold key v{version} as current")
        left = stale_count(version)
        if left:
            raise VerificationFailed(f"{left} value(s) are still on older keys")
        if decrypt(encrypt("probe", PROBE_CONTEXT), PROBE_CONTEXT) != "probe":
            raise VerificationFailed("a value encrypted with the new key does not decrypt")
