"""Archiving months of KYC (applications decided, of clients whose accounts are all closed,
with their documents) and of contract notes (with their dispatches): archived, verified
(the document and note files too), restored and queried identical to the online rows;
refused out of order, while an application is undecided or a note is still to be sent,
under a legal hold, and when a file no longer matches its sha256."""

import datetime as dt

import pyarrow.parquet as pq
import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from compliance.kyc.models import KycApplication, KycDocument
from compliance.kyc.services import kyc_approve, kyc_reject
from compliance.reports.dispatch import contract_notes_dispatch
from compliance.reports.models import ContractNoteDispatch, ContractNoteRecord
from compliance.retention.archive import archive_month
from compliance.retention.errors import ArchiveRefused, ArchiveTampered
from compliance.retention.query import archive_query
from compliance.retention.release import archive_release
from compliance.retention.restore import archive_restore, restored_rows, restored_table
from compliance.retention.services import legal_hold_place
from compliance.retention.verify import archive_verify, manifest_read
from compliance.tests.retention_fixtures import LATER
from marketdata.calendar import IST
from ops.crypto import decrypt
from orders.models import TradingAccount

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("archive_dir")]
KYC_MODELS = (KycApplication, KycDocument)
NOTE_MODELS = (ContractNoteRecord, ContractNoteDispatch)


@pytest.fixture(autouse=True)
def kyc_storage_setting(settings, archive_dir, kyc_storage_dir):
    """``storages["kyc"]``, which verification reads, at the folder the documents went to
    (``kyc_storage_dir`` moves the document field's own storage there)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "kyc": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(kyc_storage_dir)},
        },
    }


@pytest.fixture
def decided(kyc_application, officers):
    """``decided(pan, name, outcome="approved" | "rejected", account="closed" | "active" |
    None)``: a client's application decided by the second officer, with one trading account
    in that status (or none)."""
    codes = iter(range(901, 999))

    def make(pan: str, name: str, outcome: str = "approved", account: str | None = "closed"):
        application = kyc_application(pan=pan, name=name, step="verified")
        if outcome == "approved":
            application = kyc_approve(application=application, actor=officers[1])
        else:
            application = kyc_reject(application=application, actor=officers[1], reason="forged")
        if account is not None:
            TradingAccount.objects.create(
                code=f"TS0{next(codes)}", client=application.client, status=account
            )
        return application

    return make


def month_of(moment: dt.datetime) -> str:
    return f"{moment.astimezone(IST):%Y-%m}"


def online(model, **where) -> list[dict]:
    return list(model.objects.filter(**where).order_by("id").values())


def kyc_month(decided) -> tuple[str, list[KycApplication]]:
    """Two closed clients (one approved, one rejected) and an open one (approved)."""
    closed = [
        decided("ABCPK1234L", "Kiran Rao"),
        decided("ABCPN2345M", "Nila Shah", outcome="rejected"),
    ]
    decided("ABCPD3456N", "Dev Menon", account=TradingAccount.Status.ACTIVE)
    return month_of(closed[0].decided_at), closed


# --- KYC ------------------------------------------------------------------------------------


def test_kyc_of_closed_clients_archives_verifies_restores_and_queries_identical(
    decided, archive_officers, archive_dir
):
    month, closed = kyc_month(decided)
    ids = [a.pk for a in closed]
    before = {
        KycApplication: online(KycApplication, pk__in=ids),
        KycDocument: online(KycDocument, application__in=ids),
    }
    assert len(before[KycDocument]) >= 2 * len(ids)  # every required document of each

    run = archive_month(kind="kyc", month=month, actor=archive_officers[0], today=LATER)

    manifest = manifest_read(run)
    assert {e["table"]: e["rows"] for e in manifest["files"]} == {
        m._meta.db_table: len(before[m]) for m in KYC_MODELS
    }
    assert [(r["storage"], r["name"], r["sha256"]) for r in manifest["referenced"]] == [
        ("kyc", d["file"], d["sha256"]) for d in before[KycDocument]
    ]
    report = archive_verify(run=run)
    assert (report.rows, report.referenced) == (run.rows, len(before[KycDocument]))
    # The PAN and bank account stay encrypted in the archive, as in the table.
    entry = next(e for e in manifest["files"] if e["table"] == "compliance_kycapplication")
    archived = pq.read_table(archive_dir / entry["name"]).to_pylist()
    context = "compliance.kycapplication.pan"
    assert [row["pan"] for row in archived] != [row["pan"] for row in before[KycApplication]]
    assert [decrypt(row["pan"], context) for row in archived] == [
        row["pan"] for row in before[KycApplication]
    ]

    archive_restore(run=run, actor=archive_officers[1])
    for model in KYC_MODELS:
        assert restored_rows(run, model) == before[model], model.__name__
    if connection.vendor == "postgresql" and settings.DATABASE_MIGRATION_URL:
        refused = pytest.raises(DatabaseError, match="permission denied")
        with refused, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {restored_table(run, KycDocument)}")  # noqa: S608
    assert archive_query(run, "SELECT id, status FROM compliance_kycapplication ORDER BY id") == [
        (a.pk, a.status) for a in closed
    ]
    with pytest.raises(ArchiveRefused, match="release of kyc from the online tables is not"):
        archive_release(run=run, actor=archive_officers[0])
    assert KycApplication.objects.filter(pk__in=ids).count() == 2


def test_kyc_inside_its_online_window_is_refused(decided, archive_officers):
    month, _ = kyc_month(decided)
    with pytest.raises(ArchiveRefused, match=f"{month} is inside the online window of 12"):
        archive_month(kind="kyc", month=month, actor=archive_officers[0])


def test_kyc_months_are_archived_in_order_of_decision(decided, archive_officers):
    month, closed = kyc_month(decided)
    earlier = closed[1].decided_at - dt.timedelta(days=40)
    KycApplication.objects.filter(pk=closed[1].pk).update(decided_at=earlier)

    with pytest.raises(
        ArchiveRefused,
        match=f"KYC applications of {month_of(earlier)} are not archived yet",
    ):
        archive_month(kind="kyc", month=month, actor=archive_officers[0], today=LATER)
    first = archive_month(
        kind="kyc", month=month_of(earlier), actor=archive_officers[0], today=LATER
    )
    assert first.key_first == first.key_last == str(closed[1].pk)
    then = archive_month(kind="kyc", month=month, actor=archive_officers[0], today=LATER)
    assert then.key_first == then.key_last == str(closed[0].pk)


def test_an_undecided_application_of_a_closed_client_refuses_the_month(
    decided, kyc_application, archive_officers
):
    month, _ = kyc_month(decided)
    pending = kyc_application(pan="ABCPR4567P", name="Rhea Sen", step="under_review")
    TradingAccount.objects.create(
        code="TS0998", client=pending.client, status=TradingAccount.Status.CLOSED
    )
    kyc_application(pan="ABCPO5678Q", name="Om Pai", step="submitted")  # no account: online

    with pytest.raises(
        ArchiveRefused,
        match=rf"not decided yet: application {pending.pk} \(under_review\)$",
    ):
        archive_month(kind="kyc", month=month, actor=archive_officers[0], today=LATER)


def test_a_legal_hold_on_the_client_refuses_its_kyc_month(decided, archive_officers):
    month, closed = kyc_month(decided)
    hold = legal_hold_place(client=closed[0].client, reason="PMLA", actor=archive_officers[0])
    with pytest.raises(
        ArchiveRefused,
        match=f"KYC applications of client {closed[0].client_id} are under legal hold {hold.pk}",
    ):
        archive_month(kind="kyc", month=month, actor=archive_officers[0], today=LATER)


def test_a_month_of_open_relationships_only_has_no_kyc_records(decided, archive_officers):
    application = decided("ABCPD3456N", "Dev Menon", account=TradingAccount.Status.ACTIVE)
    decided("ABCPL6789R", "Lata Iyer", account=None)  # no account: not begun, not ended
    with pytest.raises(ArchiveRefused, match="it has no records"):
        archive_month(
            kind="kyc", month=month_of(application.decided_at), actor=archive_officers[0],
            today=LATER,
        )  # fmt: skip


def test_a_tampered_kyc_parquet_file_is_refused_naming_it(decided, archive_officers, archive_dir):
    month, _ = kyc_month(decided)
    run = archive_month(kind="kyc", month=month, actor=archive_officers[0], today=LATER)
    name = next(e["name"] for e in manifest_read(run)["files"] if "kycdocument" in e["table"])
    path = archive_dir / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))

    with pytest.raises(ArchiveTampered, match=f"archive file {name} does not match"):
        archive_verify(run=run)
    with pytest.raises(ArchiveTampered, match=f"archive file {name} does not match"):
        archive_restore(run=run, actor=archive_officers[1])


def test_a_changed_kyc_document_file_is_found_by_verify_and_refuses_archival(
    decided, archive_officers, kyc_storage_dir
):
    month, closed = kyc_month(decided)
    run = archive_month(kind="kyc", month=month, actor=archive_officers[0], today=LATER)
    document = KycDocument.objects.filter(application=closed[0]).order_by("pk").first()
    (kyc_storage_dir / document.file.name).write_bytes(b"%PDF-1.4 another scan")

    with pytest.raises(
        ArchiveTampered,
        match=f"KYC document {document.pk}: file {document.file.name} in storage kyc does not "
        "match its sha256",
    ):
        archive_verify(run=run)
    # The next month's archive checks its documents before writing anything.
    KycApplication.objects.filter(pk__in=[a.pk for a in closed]).update(
        decided_at=closed[0].decided_at + dt.timedelta(days=40)
    )
    later = month_of(closed[0].decided_at + dt.timedelta(days=40))
    with pytest.raises(ArchiveRefused, match=f"KYC document {document.pk}: file .* does not"):
        archive_month(kind="kyc", month=later, actor=archive_officers[0], today=LATER)


# --- Contract notes -------------------------------------------------------------------------


@pytest.fixture
def dispatched(notes, settings, mailoutbox):
    """The day's notes dispatched: Asha's sent; Ravi's (no e-mail on file) failed on its
    only scheduled attempt, so abandoned."""
    settings.CONTRACT_NOTE_DISPATCH_ATTEMPTS = 1
    contract_notes_dispatch()
    asha, ravi = notes
    assert [d.status for d in asha.dispatches.all()] == ["sent"]
    assert [d.status for d in ravi.dispatches.all()] == ["failed"]
    return notes


def test_contract_notes_archive_verify_restore_and_query_identical(dispatched, archive_officers):
    asha, ravi = dispatched
    before = {model: online(model) for model in NOTE_MODELS}
    assert [len(before[model]) for model in NOTE_MODELS] == [2, 2]

    run = archive_month(
        kind="contract_notes", month=f"{asha.trade_date:%Y-%m}", actor=archive_officers[0],
        today=LATER,
    )  # fmt: skip

    manifest = manifest_read(run)
    assert {e["table"]: e["rows"] for e in manifest["files"]} == {
        "compliance_contractnoterecord": 2, "compliance_contractnotedispatch": 2,
    }  # fmt: skip
    assert {(r["storage"], r["name"], r["sha256"]) for r in manifest["referenced"]} == {
        ("compliance", getattr(note, f"{kind}_path"), getattr(note, f"{kind}_sha256"))
        for note in (asha, ravi)
        for kind in ("pdf", "csv", "json")
    }
    assert archive_verify(run=run).referenced == 6
    archive_restore(run=run, actor=archive_officers[1])
    for model in NOTE_MODELS:
        assert restored_rows(run, model) == before[model], model.__name__
    assert archive_query(
        run,
        "SELECT n.number, d.status FROM compliance_contractnoterecord n "
        "JOIN compliance_contractnotedispatch d ON d.note_id = n.id ORDER BY n.number",
    ) == sorted([(asha.number, "sent"), (ravi.number, "failed")])
    with pytest.raises(ArchiveRefused, match="release of contract_notes from the online"):
        archive_release(run=run, actor=archive_officers[0])


def test_contract_notes_inside_their_online_window_are_refused(notes, archive_officers):
    month = f"{notes[0].trade_date:%Y-%m}"
    with pytest.raises(ArchiveRefused, match=f"{month} is inside the online window"):
        archive_month(kind="contract_notes", month=month, actor=archive_officers[0])


def test_a_note_still_to_be_sent_refuses_the_month(notes, archive_officers, settings, mailoutbox):
    asha, ravi = notes
    month = f"{asha.trade_date:%Y-%m}"
    first, second = sorted(notes, key=lambda n: n.number)
    with pytest.raises(
        ArchiveRefused,
        match=rf"still to be sent: note {first.number} \(not sent yet\), note {second.number} "
        r"\(not sent yet\)$",
    ):
        archive_month(kind="contract_notes", month=month, actor=archive_officers[0], today=LATER)

    contract_notes_dispatch()  # Asha's is sent; Ravi's failed with attempts left
    with pytest.raises(ArchiveRefused, match=rf"note {ravi.number} \(not sent yet\)$"):
        archive_month(kind="contract_notes", month=month, actor=archive_officers[0], today=LATER)

    settings.CONTRACT_NOTE_DISPATCH_ATTEMPTS = 1  # Ravi's now abandoned; an officer resends
    ContractNoteDispatch.objects.create(
        note=ravi, status=ContractNoteDispatch.Status.SENDING, attempt=2, resend=True,
        attempted_at=timezone.now(),
    )  # fmt: skip
    with pytest.raises(ArchiveRefused, match=rf"note {ravi.number} \(sending\)$"):
        archive_month(kind="contract_notes", month=month, actor=archive_officers[0], today=LATER)


def test_contract_note_months_are_archived_in_order(dispatched, archive_officers):
    asha, ravi = dispatched
    earlier = ravi.trade_date - dt.timedelta(days=40)
    ContractNoteRecord.objects.filter(pk=ravi.pk).update(trade_date=earlier)
    with pytest.raises(
        ArchiveRefused, match=f"contract notes of {earlier:%Y-%m} are not archived yet"
    ):
        archive_month(
            kind="contract_notes", month=f"{asha.trade_date:%Y-%m}", actor=archive_officers[0],
            today=LATER,
        )  # fmt: skip
    run = archive_month(
        kind="contract_notes", month=f"{earlier:%Y-%m}", actor=archive_officers[0], today=LATER
    )
    assert run.key_first == run.key_last == str(ravi.pk)


def test_a_legal_hold_on_the_client_refuses_its_contract_notes_month(dispatched, archive_officers):
    asha, _ = dispatched
    hold = legal_hold_place(client=asha.client, reason="SEBI", actor=archive_officers[0])
    with pytest.raises(
        ArchiveRefused,
        match=f"contract notes of client {asha.client_id} are under legal hold {hold.pk}",
    ):
        archive_month(
            kind="contract_notes", month=f"{asha.trade_date:%Y-%m}", actor=archive_officers[0],
            today=LATER,
        )  # fmt: skip


def test_a_changed_note_pdf_or_tampered_parquet_is_refused_naming_it(
    dispatched, archive_officers, archive_dir, compliance_files_dir
):
    asha, _ = dispatched
    run = archive_month(
        kind="contract_notes", month=f"{asha.trade_date:%Y-%m}", actor=archive_officers[0],
        today=LATER,
    )  # fmt: skip
    pdf = compliance_files_dir / asha.pdf_path
    original = pdf.read_bytes()
    pdf.write_bytes(original + b"%% appended")
    with pytest.raises(
        ArchiveTampered,
        match=rf"contract note {asha.number} \(PDF\): file {asha.pdf_path} in storage compliance "
        "does not match its sha256",
    ):
        archive_verify(run=run)
    pdf.write_bytes(original)
    assert archive_verify(run=run).referenced == 6

    name = manifest_read(run)["files"][1]["name"]
    (archive_dir / name).write_bytes(b"PAR1 not the archive PAR1")
    with pytest.raises(ArchiveTampered, match=f"archive file {name} does not match its sha256"):
        archive_verify(run=run)
