"""The S3 seal sink against a real local S3 (moto's server on a loopback port): one
object per seal under Object Lock in COMPLIANCE mode, read back by ``--seals``.

What moto enforces, and so what is tested: a locked object version cannot be deleted (even
asking to bypass governance retention); a PUT over a seal's key adds a version beside the
locked one, which stays; a conditional PUT (If-None-Match) on an existing key is refused.
(moto does not refuse shortening a COMPLIANCE retention, which real S3 does: not tested.)
"""

import datetime as dt
import socket

import pytest
from botocore.exceptions import ClientError
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from compliance import seals
from compliance.seal_sinks import SealSinkError, seal_sink
from compliance.seal_verify import seals_verify
from compliance.seals import seal_digest, seal_write

pytestmark = pytest.mark.django_db

PORTS = range(8830, 8840)  # this worktree's loopback ports
REGION = "ap-south-1"


def _free_port() -> int:
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.fail(f"no free loopback port in {PORTS.start}-{PORTS.stop - 1} for moto")


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def locked_bucket(endpoint: str, monkeypatch, request, prefix: str):
    """A client of the local S3 (test credentials in the environment) and a fresh bucket
    with Object Lock, named after the test; the client carries it as ``bucket``."""
    import boto3

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=endpoint)
    bucket = f"{prefix}-{request.node.name.replace('_', '-')[:40]}".lower()
    client.create_bucket(
        Bucket=bucket,
        ObjectLockEnabledForBucket=True,
        CreateBucketConfiguration={"LocationConstraint": REGION},
    )
    client.bucket = bucket
    return client


@pytest.fixture
def s3(s3_endpoint, settings, monkeypatch, seal_files, request):
    """A client of the local S3, and the seal settings pointed at a fresh locked bucket."""
    client = locked_bucket(s3_endpoint, monkeypatch, request, "seals")
    bucket = client.bucket
    settings.AUDIT_SEAL_S3_ENDPOINT_URL = s3_endpoint
    settings.AUDIT_SEAL_SINK = f"s3://{bucket}/trail"
    settings.AUDIT_SEAL_S3_RETAIN_DAYS = 1827
    return client


def test_seals_are_locked_objects_read_back_by_the_command(record_events, s3, capsys):
    record_events(2)
    seal_write()
    record_events(1)
    seal_write()

    listed = s3.list_objects_v2(Bucket=s3.bucket, Prefix="trail/")["Contents"]
    assert [o["Key"] for o in listed] == ["trail/000000000001.json", "trail/000000000002.json"]
    head = s3.head_object(Bucket=s3.bucket, Key="trail/000000000002.json")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    floor = dt.datetime.now(dt.UTC) + dt.timedelta(days=1826)
    assert head["ObjectLockRetainUntilDate"] > floor
    call_command("audit_verify", "--seals")
    assert f"Seals intact: 2 seals in s3://{s3.bucket}/trail/" in capsys.readouterr().out


def test_a_locked_seal_cannot_be_deleted(record_events, s3):
    record_events(1)
    seal_write()
    key = "trail/000000000001.json"
    version = s3.head_object(Bucket=s3.bucket, Key=key)["VersionId"]

    for extra in ({}, {"BypassGovernanceRetention": True}):
        with pytest.raises(ClientError, match="AccessDenied"):
            s3.delete_object(Bucket=s3.bucket, Key=key, VersionId=version, **extra)

    assert s3.get_object(Bucket=s3.bucket, Key=key, VersionId=version)["Body"].read()
    assert seals_verify().ok


def test_an_overwritten_or_hidden_seal_is_reported_and_the_original_still_counts(record_events, s3):
    record_events(1)
    seal_write()
    record_events(1)
    seal_write()
    s3.put_object(Bucket=s3.bucket, Key="trail/000000000001.json", Body=b'{"forged": true}\n')
    s3.delete_object(Bucket=s3.bucket, Key="trail/000000000002.json")  # a delete marker

    report = seals_verify()

    assert [str(f) for f in report.findings] == [
        f"s3://{s3.bucket}/trail/000000000001.json: the object was overwritten 1 time(s)",
        f"s3://{s3.bucket}/trail/000000000002.json: the object was deleted (a delete marker "
        "hides it)",
    ]  # and no signature or chain finding: the locked originals were read
    assert report.seals == 2


def test_two_writers_never_write_the_same_seal_number(record_events, s3):
    record_events(1)
    seal_write()
    ours = dict(seals._states)
    seals.seal_cache_clear()
    record_events(1)
    other = seal_write()  # another process
    seals._states.update(ours)  # this one still thinks seal 1 is the last
    record_events(1)

    mine = seal_write()  # seal 2 exists: refused by If-None-Match, caught up, written as 3

    assert (other.number, mine.number) == (2, 3)
    assert mine.seal["prev"] == seal_digest(other.seal)
    assert seals_verify().ok


def test_a_bucket_without_object_lock_is_refused(record_events, s3, settings):
    s3.create_bucket(Bucket="plain-seals", CreateBucketConfiguration={"LocationConstraint": REGION})
    settings.AUDIT_SEAL_SINK = "s3://plain-seals/trail"
    record_events(1)

    with pytest.raises(
        ImproperlyConfigured, match="bucket 'plain-seals' does not have S3 Object Lock enabled"
    ):
        seal_write()
    assert "Contents" not in s3.list_objects_v2(Bucket="plain-seals")


def test_a_missing_bucket_is_named(record_events, s3, settings):
    settings.AUDIT_SEAL_SINK = "s3://no-such-seal-bucket/trail"
    record_events(1)

    with pytest.raises(
        SealSinkError,
        match="s3://no-such-seal-bucket/trail/: reading bucket no-such-seal-bucket's Object Lock failed: NoSuchBucket",
    ):
        seal_write()
    assert seal_sink().key(7) == "trail/000000000007.json"
