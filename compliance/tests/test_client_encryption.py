"""A client's PAN and bank account number are encrypted at rest; the PAN stays unique and
findable by its exact value through a blind index."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from compliance.models import Client

pytestmark = pytest.mark.django_db


def raw(client: Client) -> tuple[str, str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pan, pan_digest, bank_account_number FROM compliance_client WHERE id = %s",
            [client.pk],
        )
        return cursor.fetchone()


def test_identity_and_bank_numbers_are_encrypted_at_rest():
    client = Client.objects.create(
        name="Asha Rao",
        pan="abcpr1234k",
        bank_account_number="001234567890",
        bank_ifsc="HDFC0001234",
    )
    pan, digest, account = raw(client)
    assert pan.startswith("v")
    assert "ABCPR1234K" not in pan
    assert account.startswith("v")
    assert "001234567890" not in account
    assert len(digest) == 64
    again = Client.objects.get(pk=client.pk)
    assert (again.pan, again.bank_account_number) == ("ABCPR1234K", "001234567890")
    assert Client.objects.get(pan_digest=Client.pan_index("ABCPR1234K")) == client


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"pan": "ABCPR1234"}, "pan", "is not a valid PAN"),
        ({"bank_account_number": "12 34"}, "bank_account_number", "9 to 18 digits"),
        ({"bank_ifsc": "HDFC1001234"}, "bank_ifsc", "four letters for the bank, a zero"),
    ],
)
def test_bad_numbers_are_refused_with_a_clear_message(fields, field, message):
    client = Client(name="B", **{"pan": "ABCPB1234K", **fields})
    with pytest.raises(ValidationError) as caught:
        client.full_clean()
    assert message in " ".join(caught.value.message_dict[field])


def test_a_pan_is_unique_though_encrypted():
    Client.objects.create(name="A", pan="ABCPR1234K")
    twin = Client(name="B", pan="abcpr1234k")
    with pytest.raises(ValidationError, match="A client with this PAN already exists"):
        twin.full_clean()


def test_the_admin_finds_a_client_by_exact_pan(client, user_in_role, otp_login):
    Client.objects.create(name="Asha Rao", pan="ABCPR1234K")
    Client.objects.create(name="Bala", pan="ABCPB1234K")
    otp_login(client, user_in_role("Compliance Officer"))
    page = client.get("/admin/compliance/client/?q=ABCPR1234K").content.decode()
    assert "Asha Rao" in page
    assert "Bala" not in page


def test_the_migration_encrypts_existing_clients_in_place(privileged_db):
    from django.db.migrations.executor import MigrationExecutor

    from ops.db_roles import runtime_grants_after_migrate

    before = [("compliance", "0004_audit_trail_head_and_triggers")]
    after = [("compliance", "0005_encrypt_pan_and_bank_details")]
    with privileged_db.connection_as("owner"):  # migrations change the schema: the owner's
        executor = MigrationExecutor(connection)
        executor.migrate(before)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO compliance_client (name, pan, kyc_status, created_at)"
                " VALUES ('Old Client', 'ABCPO1234K', 'verified', CURRENT_TIMESTAMP)"
            )
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(after)
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
        runtime_grants_after_migrate(using="default")  # as every `migrate` ends
    old = Client.objects.get(pan_digest=Client.pan_index("ABCPO1234K"))
    assert (old.name, old.pan, old.bank_account_number) == ("Old Client", "ABCPO1234K", "")
    assert "ABCPO1234K" not in raw(old)[0]
