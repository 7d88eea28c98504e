"""Field-key rotation: every EncryptedTextField value moves to the new key, in batches, and
a run that stops half-way is resumed by the next one; older keys go only on request."""

import logging

import pytest
from django.apps import apps
from django.db import connection, models

from ops.crypto import EncryptedTextField, keyring
from ops.models import JobRun
from ops.rotation import field_key, secrets_rotate
from ops.tests.rotation_support import assert_never_recorded, one

pytestmark = pytest.mark.usefixtures("isolated_secrets")


@pytest.fixture
def notes_model(privileged_db):
    """A model with an encrypted column that exists only for the test. It is registered in
    the app registry, so the rotation finds it through apps.get_models() like any other.
    The schema owner makes and drops its table, as a migration would."""
    meta = type("Meta", (), {"app_label": "ops", "db_table": "ops_test_rotation_note"})
    model = type(
        "RotationTestNote",
        (models.Model,),
        {"__module__": __name__, "Meta": meta, "body": EncryptedTextField(null=True)},
    )
    try:
        with privileged_db.connection_as("owner"), connection.schema_editor() as editor:
            editor.create_model(model)
        yield model
        with privileged_db.connection_as("owner"), connection.schema_editor() as editor:
            editor.delete_model(model)
    finally:
        apps.all_models["ops"].pop("rotationtestnote", None)
        apps.clear_cache()


def raw_versions(model) -> list[str]:
    """The key version of each stored value, read past the field (no decryption)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT body FROM {model._meta.db_table} ORDER BY id")  # noqa: S608
        return [row[0].partition("$")[0] if row[0] else None for row in cursor.fetchall()]


BODIES = [f"PAN ABCPR{i:04d}K, a/c 0011223344{i}" for i in range(7)]


def test_reencrypts_every_value_and_resumes_after_an_interruption(notes_model, monkeypatch):
    notes_model.objects.bulk_create(
        [notes_model(body=b) for b in BODIES] + [notes_model(body=None)]
    )
    assert raw_versions(notes_model) == ["v1"] * 7 + [None]
    assert (notes_model, notes_model._meta.get_field("body")) in field_key.encrypted_columns()

    real_batch, calls = field_key.reencrypt_batch, []

    def dies_on_third_batch(model, *args):
        calls.append(model)
        if calls.count(notes_model) == 3:
            raise RuntimeError("worker lost (simulated)")
        return real_batch(model, *args)

    monkeypatch.setattr(field_key, "reencrypt_batch", dies_on_third_batch)
    first = one(secrets_rotate(only="field_key", batch_size=2))
    assert (first.status, first.stage, first.key_version) == ("failed", "re-encrypt", 2)
    assert first.detail.startswith("stopped after re-encrypting 4 value(s): worker lost")
    assert raw_versions(notes_model) == ["v2"] * 4 + ["v1"] * 3 + [None]
    assert [n.body for n in notes_model.objects.order_by("id")] == [*BODIES, None]  # all readable
    stopped = JobRun.objects.get(kind=field_key.JOB_KIND)
    assert (stopped.status, stopped.done, stopped.total) == ("failed", 4, 7)

    monkeypatch.undo()
    decrypted = []
    real_decrypt = field_key.decrypt
    monkeypatch.setattr(field_key, "decrypt", lambda *a: decrypted.append(a) or real_decrypt(*a))
    second = one(secrets_rotate(only="field_key", batch_size=2))
    assert second.status == "rotated", second.detail
    assert second.detail.startswith("resumed; key v2 is current; re-encrypted 3 value(s)")
    # Only the values still on the old key were decrypted (besides the check's own probe).
    assert [context for _, context in decrypted] == ["ops.rotationtestnote.body"] * 3 + [
        field_key.PROBE_CONTEXT
    ]
    assert sorted(keyring().keys) == [1, 2]  # no third key: it carried on with v2
    assert raw_versions(notes_model) == ["v2"] * 7 + [None]
    resumed = JobRun.objects.filter(kind=field_key.JOB_KIND).order_by("-id").first()
    assert (resumed.status, resumed.done, resumed.total) == ("succeeded", 3, 3)

    third = one(secrets_rotate(only="field_key", drop_old_keys=True))
    assert third.status == "rotated", third.detail
    assert "dropped key(s) v1, v2" in third.detail
    assert list(keyring().keys) == [3]
    assert raw_versions(notes_model) == ["v3"] * 7 + [None]
    assert [n.body for n in notes_model.objects.order_by("id")] == [*BODIES, None]


def test_dry_run_counts_and_changes_nothing(notes_model, settings):
    notes_model.objects.bulk_create([notes_model(body=b) for b in BODIES[:3]])
    ring_file = settings.FIELD_ENCRYPTION_KEYRING.read_text()
    result = one(secrets_rotate(only="field_key", dry_run=True, drop_old_keys=True))
    columns = len(field_key.encrypted_columns())
    assert result.status == "planned"
    assert result.detail == (
        f"would add key v2 to {settings.FIELD_ENCRYPTION_KEYRING}, make it current, and "
        f"re-encrypt 3 value(s) in {columns} encrypted column(s), then drop the older keys"
    )
    assert settings.FIELD_ENCRYPTION_KEYRING.read_text() == ring_file
    assert raw_versions(notes_model) == ["v1"] * 3


def test_a_value_that_does_not_decrypt_stops_the_run_and_is_named(notes_model):
    notes = notes_model.objects.bulk_create([notes_model(body=b) for b in BODIES[:2]])
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT body FROM {notes_model._meta.db_table} WHERE id = %s",  # noqa: S608
            [notes[1].pk],
        )
        token = cursor.fetchone()[0]
        tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
        cursor.execute(
            f"UPDATE {notes_model._meta.db_table} SET body = %s WHERE id = %s",  # noqa: S608
            [tampered, notes[1].pk],
        )
    result = one(secrets_rotate(only="field_key"))
    assert (result.status, result.stage) == ("failed", "re-encrypt")
    assert (
        f"ops.RotationTestNote.body pk={notes[1].pk}: the value does not decrypt" in result.detail
    )
    assert "run again to resume" in result.detail
    assert notes_model.objects.get(pk=notes[0].pk).body == BODIES[0]  # re-encrypted, readable


@pytest.mark.django_db
def test_real_models_are_covered_and_nothing_leaks(account, settings, caplog):
    from ops.apikeys import api_key_create
    from ops.models import ApiKey

    caplog.set_level(logging.DEBUG)
    key, secret = api_key_create(actor=None, user=account.users.get(), account=account, label="box")
    assert (ApiKey, ApiKey._meta.get_field("secret")) in field_key.encrypted_columns()
    result = one(secrets_rotate(only="field_key"))
    assert result.status == "rotated", result.detail
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM ops_apikey WHERE id = %s", [key.pk])
        assert cursor.fetchone()[0].startswith("v2$")
    assert ApiKey.objects.get(pk=key.pk).secret == secret
    key_material = [
        line.partition(":")[2] for line in settings.FIELD_ENCRYPTION_KEYRING.read_text().split()
    ]
    assert_never_recorded(caplog, secret, *key_material)
