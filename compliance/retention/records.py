"""What the ``kyc`` and ``contract_notes`` kinds archive of a month, and the files their
rows point at.

``kyc`` (PMLA: kept five years after the business relationship ends): the KYC applications
decided (approved or rejected, the final states) in the month (IST) of clients whose
relationship has ended, with their documents. A relationship has ended when the client has
a trading account and every one of its accounts is closed (``TradingAccount.Status.CLOSED``;
nothing records when, so the month is the decided month). A client with no account, or with
one still open, keeps its applications online. Refused while applications of such clients
decided in an earlier month are not archived, while any of their applications made by the
month's end is not decided yet, and under a legal hold on the client.

``contract_notes``: the notes of trade dates in the month, with every dispatch of them.
Refused while notes of an earlier month are not archived, while a note of the month is
still to be sent (no dispatch sent and scheduled attempts left, or one sending now: a note
the dispatcher gave up on after its last attempt failed is abandoned, and settled), and
under a legal hold on a note's client.

The KYC documents (``kyc`` storage) and the notes' PDF, CSV and JSON (``compliance``
storage) stay where they are: their rows keep the path and sha256, and the manifest lists
each file as ``referenced`` so that ``archive_verify`` re-hashes it. Archived only: the
release of these kinds is not built yet.
"""

import datetime as dt

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet

from compliance.retention.holds import earlier_refusals, held_refusals

OPEN_EXAMPLES = 5


def _named(rows: list[tuple], what: str) -> str:
    """``rows`` (label, state) as "what 1 (state), ..." naming up to OPEN_EXAMPLES."""
    named = ", ".join(f"{what} {label} ({state})" for label, state in rows[:OPEN_EXAMPLES])
    return named + (" and more" if len(rows) > OPEN_EXAMPLES else "")


def clients_relationship_ended() -> QuerySet:
    """Clients with a trading account and no account that is not closed."""
    from compliance.models import Client
    from orders.models import TradingAccount

    accounts = TradingAccount.objects.filter(client=OuterRef("pk"))
    still_open = accounts.exclude(status=TradingAccount.Status.CLOSED)
    return Client.objects.filter(Exists(accounts)).exclude(Exists(still_open))


def kyc_selection(
    month: dt.date, start: dt.datetime, end: dt.datetime, floor: dt.datetime | None
) -> tuple[dict[str, QuerySet], list[str]]:
    """Per table, the KYC rows the month archives; and every reason it may not."""
    from compliance.kyc.choices import ApplicationStatus
    from compliance.kyc.models import KycApplication, KycDocument

    final = [ApplicationStatus.APPROVED, ApplicationStatus.REJECTED]
    ended = KycApplication.objects.filter(client__in=clients_relationship_ended().values("pk"))
    decided = ended.filter(status__in=final, decided_at__isnull=False)
    reasons = earlier_refusals(decided, "decided_at", start, floor, "KYC applications")
    undecided = list(
        ended.exclude(status__in=final)
        .filter(created_at__lt=end)
        .order_by("pk")
        .values_list("pk", "status")[: OPEN_EXAMPLES + 1]
    )
    if undecided:
        reasons.append(
            "KYC applications of clients whose relationship ended are not decided yet: "
            + _named(undecided, "application")
        )
    applications = decided.filter(decided_at__gte=start, decided_at__lt=end)
    reasons += held_refusals(applications, "client_id", "KYC applications")
    return {
        KycApplication._meta.db_table: applications,
        KycDocument._meta.db_table: KycDocument.objects.filter(application__in=applications),
    }, reasons


def contract_note_selection(
    month: dt.date, start: dt.datetime, end: dt.datetime, floor: dt.datetime | None
) -> tuple[dict[str, QuerySet], list[str]]:
    """Per table, the contract-note rows the month archives; and every reason it may not."""
    from compliance.reports.models import ContractNoteDispatch, ContractNoteRecord
    from compliance.reports.selectors import contract_notes_to_dispatch
    from marketdata.calendar import IST

    first_day, next_first = start.astimezone(IST).date(), end.astimezone(IST).date()
    floor_day = floor.astimezone(IST).date() if floor is not None else None
    reasons = earlier_refusals(
        ContractNoteRecord.objects.all(), "trade_date", first_day, floor_day, "contract notes"
    )
    notes = ContractNoteRecord.objects.filter(trade_date__gte=first_day, trade_date__lt=next_first)
    sending = ContractNoteDispatch.objects.filter(
        note=OuterRef("pk"), status=ContractNoteDispatch.Status.SENDING
    )
    to_send = contract_notes_to_dispatch(max_attempts=settings.CONTRACT_NOTE_DISPATCH_ATTEMPTS)
    unsettled = list(
        notes.annotate(sending=Exists(sending))
        .filter(Q(sending=True) | Q(pk__in=to_send.values("pk")))
        .order_by("number")
        .values_list("number", "sending")[: OPEN_EXAMPLES + 1]
    )
    if unsettled:
        states = [(n, "sending" if busy else "not sent yet") for n, busy in unsettled]
        reasons.append(
            "contract notes of the month are still to be sent: " + _named(states, "note")
        )
    reasons += held_refusals(notes, "client_id", "contract notes")
    return {
        ContractNoteRecord._meta.db_table: notes,
        ContractNoteDispatch._meta.db_table: ContractNoteDispatch.objects.filter(note__in=notes),
    }, reasons


def kyc_referenced(selected: dict[str, QuerySet]) -> list[dict]:
    """The document files of the month's KYC rows: storage, name, sha256 and whose."""
    from compliance.kyc.models import KycDocument

    documents = selected[KycDocument._meta.db_table].order_by("pk")
    return [
        {"storage": "kyc", "name": name, "sha256": digest, "of": f"KYC document {pk}"}
        for pk, name, digest in documents.values_list("pk", "file", "sha256").iterator()
    ]


def contract_note_referenced(selected: dict[str, QuerySet]) -> list[dict]:
    """The PDF, CSV and JSON of the month's contract notes: storage, name, sha256, whose."""
    from compliance.reports.models import ContractNoteRecord
    from compliance.reports.selectors import FILE_KINDS

    notes = selected[ContractNoteRecord._meta.db_table].order_by("pk")
    names = [f"{kind}_{part}" for kind in FILE_KINDS for part in ("path", "sha256")]
    referenced = []
    for number, *files in notes.values_list("number", *names).iterator():
        for i, kind in enumerate(FILE_KINDS):
            referenced.append(
                {"storage": "compliance", "name": files[2 * i], "sha256": files[2 * i + 1],
                 "of": f"contract note {number} ({kind.upper()})"}
            )  # fmt: skip
    return referenced
