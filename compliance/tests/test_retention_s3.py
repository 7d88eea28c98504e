"""The archive on S3 under Object Lock, against a real local S3 (moto's server): archived,
verified, released and restored; a tampered object refused; a locked one not deleted."""

import datetime as dt
import json

import pytest
from botocore.exceptions import ClientError

from compliance.models import AuditEvent
from compliance.retention.archive import archive_month
from compliance.retention.errors import ArchiveRefused, ArchiveTampered
from compliance.retention.release import archive_release
from compliance.retention.restore import archive_restore, restored_rows
from compliance.retention.services import archive_purge_approve, archive_purge_request
from compliance.retention.verify import archive_verify
from compliance.tests.retention_fixtures import IN_MONTH, events_at
from compliance.tests.test_seals_s3 import locked_bucket, s3_endpoint  # noqa: F401 - the server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def archive_s3(s3_endpoint, archive_dir, settings, monkeypatch, request):  # noqa: F811
    client = locked_bucket(s3_endpoint, monkeypatch, request, "archive")
    bucket = client.bucket
    settings.STORAGES = {
        **settings.STORAGES,
        "archive": {
            "BACKEND": "compliance.retention.storage.S3ObjectLockStorage",
            "OPTIONS": {"bucket": bucket, "prefix": "archive", "endpoint_url": s3_endpoint,
                        "retain_days": 1827},
        },
    }  # fmt: skip
    return client


def test_a_month_round_trips_through_locked_s3_objects(archive_s3, archive_officers):
    events_at(IN_MONTH, 3)
    before = list(AuditEvent.objects.order_by("chain", "seq").values())

    run = archive_month(kind="audit_events", month="2020-03", actor=archive_officers[0])
    listed = archive_s3.list_objects_v2(Bucket=archive_s3.bucket, Prefix="archive/")["Contents"]
    assert sorted(o["Key"].rsplit("/", 1)[1] for o in listed) == [
        "compliance_auditevent.parquet", "manifest.json",
    ]  # fmt: skip
    head = archive_s3.head_object(Bucket=archive_s3.bucket, Key=f"archive/{run.manifest_name}")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] > dt.datetime.now(dt.UTC) + dt.timedelta(days=1826)

    run = archive_release(run=run, actor=archive_officers[0])
    archive_restore(run=run, actor=archive_officers[1])
    assert restored_rows(run, AuditEvent) == before


def test_an_object_put_over_an_archive_file_is_refused_and_the_lock_holds(
    archive_s3, archive_officers
):
    events_at(IN_MONTH, 2)
    run = archive_month(kind="audit_events", month="2020-03", actor=archive_officers[0])
    manifest = json.loads(
        archive_s3.get_object(Bucket=archive_s3.bucket, Key=f"archive/{run.manifest_name}")[
            "Body"
        ].read()
    )
    name = manifest["files"][0]["name"]
    key = f"archive/{name}"
    archive_s3.put_object(Bucket=archive_s3.bucket, Key=key, Body=b"forged")  # a new version

    with pytest.raises(ArchiveTampered, match=f"archive file {name} does not match"):
        archive_verify(run=run)
    versions = archive_s3.list_object_versions(Bucket=archive_s3.bucket, Prefix=key)["Versions"]
    [original] = [v for v in versions if not v["IsLatest"]]
    with pytest.raises(ClientError, match="AccessDenied"):
        archive_s3.delete_object(Bucket=archive_s3.bucket, Key=key, VersionId=original["VersionId"])


def test_a_purge_inside_the_lock_is_refused_by_s3(archive_s3, archive_officers):
    events_at(IN_MONTH, 1)
    run = archive_month(kind="audit_events", month="2020-03", actor=archive_officers[0])
    run = archive_release(run=run, actor=archive_officers[0])
    after_retention = dt.date(2025, 4, 1)
    archive_purge_request(run=run, actor=archive_officers[0], today=after_retention)
    with pytest.raises(ArchiveRefused, match=r"the storage refused to delete .*AccessDenied"):
        archive_purge_approve(run=run, actor=archive_officers[1], today=after_retention)
    run.refresh_from_db()
    assert (run.status, run.purge_approved_by, run.purged_at) == (
        "released", archive_officers[1], None,
    )  # fmt: skip
    assert archive_verify(run=run).rows == 1  # the locked files are still there
