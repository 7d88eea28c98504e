"""KYC uploads: checked by content and size; a bad file is refused whole (no row, no file)."""

import hashlib

import pytest

from compliance.kyc.models import KycDocument
from compliance.kyc.services import KycDocumentRefused, kyc_document_upload
from compliance.tests.kyc_fixtures import EXE, JPEG, PDF, PNG, upload

pytestmark = pytest.mark.django_db


def stored_files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    ("content", "name", "problem"),
    [
        (b"", "empty.pdf", "empty.pdf is empty"),
        (EXE, "pan-card.pdf", "pan-card.pdf is a EXE file .* must be a PDF, JPEG or PNG"),
        (b"GIF89a" + b"\x00" * 30, "photo.png", "photo.png is a GIF file"),
        (b"just some text, not a scan", "poa.pdf", "poa.pdf is of no known type"),
        (PDF + b"\x00" * 2048, "big.pdf", "big.pdf is 2,\\d{3} bytes; the largest .* 1,024"),
    ],
)
def test_a_bad_upload_gets_a_clear_error_and_nothing_is_stored(
    kyc_application, officers, settings, content, name, problem
):
    application = kyc_application()
    settings.KYC_DOCUMENT_MAX_BYTES = 1024
    root = application.documents.first().file.storage.path("")
    from pathlib import Path

    before_files, before_rows = stored_files(Path(root)), KycDocument.objects.count()

    with pytest.raises(KycDocumentRefused, match=problem) as refused:
        kyc_document_upload(
            application=application, kind="photo", upload=upload(content, name), actor=officers[0]
        )

    assert refused.value.errors == {"file": [refused.value.detail]}
    assert KycDocument.objects.count() == before_rows
    assert stored_files(Path(root)) == before_files


@pytest.mark.parametrize(
    ("content", "mime"), [(PDF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg")]
)
def test_a_good_upload_is_stored_outside_the_database_with_its_sha256(
    kyc_application, officers, content, mime
):
    application = kyc_application()
    document = kyc_document_upload(
        application=application, kind="income_proof", upload=upload(content, "x.bin"),
        actor=officers[0],
    )  # fmt: skip
    assert (document.content_type, document.size) == (mime, len(content))
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    with document.file.open("rb") as stored:
        assert stored.read() == content
    assert document.file.name.startswith(f"{application.client_id}/{application.pk}/")


def test_if_the_row_fails_the_stored_file_is_removed(kyc_application, officers, monkeypatch):
    application = kyc_application()
    from pathlib import Path

    root = Path(application.documents.first().file.storage.path(""))
    before = stored_files(root)

    def broken(self, *args, **kwargs):
        raise RuntimeError("database down")

    monkeypatch.setattr(KycDocument, "save", broken)
    with pytest.raises(RuntimeError, match="database down"):
        kyc_document_upload(
            application=application, kind="photo", upload=upload(PNG, "p.png"), actor=officers[0]
        )
    assert stored_files(root) == before
