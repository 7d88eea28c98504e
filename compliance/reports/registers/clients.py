"""The client master and KYC register: every client, its KYC standing and its accounts.

The PAN is shown masked but for its last four characters (``XXXXXX234K``): an export is a
file that travels, and the register's readers identify a client by id and name; the full
PAN stays in the admin, behind the KYC permissions. The bank account is not read at all.
"""

from collections.abc import Iterator

from compliance.reports.registers.base import Column, Register, ReportParams, register
from compliance.reports.registers.common import CHUNK, batched

CLIENT_COLUMNS = (
    Column("client_id", "Client", 7),
    Column("name", "Name", 24),
    Column("pan_masked", "PAN (last 4)", 11),
    Column("kyc_status", "KYC status", 13),
    Column("kyc_verified_at", "KYC verified at", 27),
    Column("kra_status", "KRA status", 11),
    Column("risk_category", "Risk category", 9),
    Column("rekyc_due_on", "Re-KYC due", 11),
    Column("accounts", "Trading accounts (UCC)", 22),
    Column("created_at", "Onboarded", 27),
)


def pan_masked(pan: str) -> str:
    """All but the last four characters of a PAN hidden."""
    return "X" * max(len(pan) - 4, 0) + pan[-4:]


def _clients(params: ReportParams):
    from compliance.models import Client

    clients = Client.objects.all()
    return clients.filter(pk=params.client_id) if params.client_id else clients


def client_rows(params: ReportParams) -> Iterator[tuple]:
    from orders.selectors import account_codes_of_clients

    clients = _clients(params).order_by("pk").only(
        "pk", "name", "pan", "kyc_status", "kyc_verified_at", "kra_status", "risk_category",
        "rekyc_due_on", "created_at",
    )  # fmt: skip
    for batch in batched(clients.iterator(chunk_size=CHUNK)):
        codes = account_codes_of_clients(client_ids=[c.pk for c in batch])
        for c in batch:
            yield (
                c.pk, c.name, pan_masked(c.pan), c.kyc_status, c.kyc_verified_at,
                c.kra_status, c.risk_category, c.rekyc_due_on, ", ".join(codes.get(c.pk, [])),
                c.created_at,
            )  # fmt: skip


register(
    Register(
        kind="client_master",
        title="Client master and KYC register",
        columns=CLIENT_COLUMNS,
        rows=client_rows,
        count=lambda params: _clients(params).count(),
        filters=frozenset({"client"}),
        description="Every client with its KYC status, KRA status, risk category and accounts.",
    )
)
