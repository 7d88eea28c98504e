"""Encrypt each client's PAN at rest (with a blind index for uniqueness and lookups), and add
encrypted bank details. Existing rows are encrypted in place with raw SQL, so no field code
tries to decrypt the plaintext still in the column."""

from django.db import migrations, models

import compliance.models
import ops.crypto

CONTEXT = "compliance.client.pan"


def encrypt_rows(apps, schema_editor):
    from ops.crypto import blind_index, encrypt

    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id, pan FROM compliance_client")
        for pk, pan in cursor.fetchall():
            pan = pan.strip().upper()
            cursor.execute(
                "UPDATE compliance_client SET pan = %s, pan_digest = %s, bank_account_number = %s"
                " WHERE id = %s",
                [
                    encrypt(pan, CONTEXT),
                    blind_index(pan, CONTEXT),
                    encrypt("", "compliance.client.bank_account_number"),
                    pk,
                ],
            )


def decrypt_rows(apps, schema_editor):
    from ops.crypto import decrypt

    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id, pan FROM compliance_client")
        for pk, token in cursor.fetchall():
            cursor.execute(
                "UPDATE compliance_client SET pan = %s WHERE id = %s", [decrypt(token, CONTEXT), pk]
            )


class Migration(migrations.Migration):
    dependencies = [("compliance", "0004_audit_trail_head_and_triggers")]

    operations = [
        migrations.AlterField(
            model_name="client",
            name="pan",
            field=ops.crypto.EncryptedTextField(
                verbose_name="PAN", validators=[compliance.models.validate_pan]
            ),
        ),
        migrations.AddField(
            model_name="client",
            name="pan_digest",
            field=models.CharField(max_length=64, null=True, editable=False),
        ),
        migrations.AddField(
            model_name="client",
            name="bank_account_number",
            field=ops.crypto.EncryptedTextField(
                blank=True, default="", validators=[compliance.models.validate_bank_account]
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="client",
            name="bank_ifsc",
            field=models.CharField(
                blank=True,
                default="",
                max_length=11,
                validators=[compliance.models.validate_ifsc],
                verbose_name="IFSC",
            ),
            preserve_default=False,
        ),
        migrations.RunPython(encrypt_rows, decrypt_rows),
        migrations.AlterField(
            model_name="client",
            name="pan_digest",
            field=models.CharField(max_length=64, unique=True, editable=False),
        ),
    ]
