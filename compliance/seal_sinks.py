"""Where audit seals are kept, outside the database: an append-only file or an S3 bucket.

``AUDIT_SEAL_SINK`` picks one:

- ``file:///path``: one JSON line per seal, appended with O_APPEND in one write and
  fsynced (the folder too when the file is created). Writers take an exclusive ``flock``
  on the file for the read-the-tail-then-append, so two beat runs never interleave.
- ``s3://bucket/prefix``: one object per seal, ``<prefix><seal number, 12 digits>.json``,
  written with Object Lock in COMPLIANCE mode until AUDIT_SEAL_S3_RETAIN_DAYS from now, and
  only if no object has that name yet (If-None-Match), so two writers cannot both write
  seal N. The bucket must have Object Lock enabled; the sink checks and says so.

A sink yields :class:`SealRecord` in seal order; reading resumes from a ``cursor`` (a byte
offset of the file, the last key read from S3), so a writer catches up cheaply.
"""

import contextlib
import datetime as dt
import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SINK_HELP = "AUDIT_SEAL_SINK must be file:///absolute/path or s3://bucket/prefix"
CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict"}


class SealConflict(Exception):
    """Another writer wrote the seal with this number first."""


class SealSinkError(RuntimeError):
    """The sink cannot be read or written; the message names the sink and why."""


@dataclass(frozen=True)
class SealRecord:
    """One stored seal: its text, where it is (``label``), and what the store says about
    it (``problems``, e.g. an S3 object overwritten or hidden by a delete marker)."""

    label: str
    text: str
    cursor: object
    problems: tuple[str, ...] = field(default=())


class FileSink:
    """Seals as lines of one append-only file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"file://{path}"
        self._fd: int | None = None

    def _open(self) -> int:
        try:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o640)
            except FileExistsError:
                return os.open(self.path, os.O_RDWR | os.O_APPEND)
            folder = os.open(self.path.parent, os.O_RDONLY)  # the new name must survive a crash
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
            return fd
        except OSError as exc:
            raise SealSinkError(
                f"AUDIT_SEAL_SINK {self.url}: cannot write seals to {self.path}: {exc.strerror}"
            ) from None

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the file's exclusive lock: catch up, then append, with no writer between."""
        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._fd = fd
            yield
        finally:
            self._fd = None
            os.close(fd)  # closing drops the lock

    def append(self, number: int, text: str) -> str:
        if self._fd is None:
            raise RuntimeError("FileSink.append is called inside FileSink.locked() only")
        data = (text + "\n").encode()
        size = os.fstat(self._fd).st_size
        if size and os.pread(self._fd, 1, size - 1) != b"\n":
            raise SealSinkError(
                f"{self.path}: its last line is cut off (a seal write did not finish); "
                "run `manage.py audit_verify --seals` and repair the file before sealing on"
            )
        written = os.write(self._fd, data)
        if written != len(data):
            raise SealSinkError(f"{self.path}: short write of seal {number}")
        os.fsync(self._fd)
        return f"{self.path} line {number}"

    def read(self, cursor: object = None) -> Iterator[SealRecord]:
        """Each line from byte offset ``cursor`` (from the start if None) on."""
        start = int(cursor or 0)
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return
        except OSError as exc:
            raise SealSinkError(f"AUDIT_SEAL_SINK {self.url}: cannot read: {exc}") from None
        with handle:
            if start > os.fstat(handle.fileno()).st_size:
                start = 0  # the file was replaced: read it all again
            handle.seek(start)
            position = start
            for count, raw in enumerate(handle, 1):
                # line numbers are known when reading from the start, offsets always
                line = f"line {count}" if not start else f"at byte {position}"
                position += len(raw)
                problems = () if raw.endswith(b"\n") else ("the line is cut off (no newline)",)
                text = raw.decode("utf-8", errors="replace").rstrip("\n")
                yield SealRecord(f"{self.path} {line}", text, position, problems)


class S3Sink:
    """Seals as objects of an S3 bucket with Object Lock (COMPLIANCE mode)."""

    def __init__(self, bucket: str, prefix: str) -> None:
        self.bucket, self.prefix = bucket, prefix
        self.url = f"s3://{bucket}/{prefix}"
        self._client = None
        self._lock_checked = False

    @property
    def client(self):
        if self._client is None:
            import boto3

            endpoint = settings.AUDIT_SEAL_S3_ENDPOINT_URL or None
            self._client = boto3.client("s3", endpoint_url=endpoint)
        return self._client

    def key(self, number: int) -> str:
        return f"{self.prefix}{number:012d}.json"

    def _error(self, exc, doing: str) -> SealSinkError:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        return SealSinkError(f"AUDIT_SEAL_SINK {self.url}: {doing} failed: {code}: {exc}")

    def check_object_lock(self) -> None:
        """Refuse a bucket without Object Lock: its seals could be overwritten or deleted."""
        from botocore.exceptions import BotoCoreError, ClientError

        if self._lock_checked:
            return

        try:
            config = self.client.get_object_lock_configuration(Bucket=self.bucket)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ObjectLockConfigurationNotFoundError":
                config = {}
            else:
                raise self._error(exc, f"reading bucket {self.bucket}'s Object Lock") from None
        except BotoCoreError as exc:
            raise self._error(exc, f"reaching bucket {self.bucket}") from None
        if config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") != "Enabled":
            raise ImproperlyConfigured(
                f"AUDIT_SEAL_SINK {self.url}: bucket {self.bucket!r} does not have S3 Object "
                "Lock enabled, so its seals could be overwritten or deleted. Use a bucket "
                "created with Object Lock (versioning on), or enable Object Lock on it."
            )
        self._lock_checked = True

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.check_object_lock()
        yield  # the conditional write in append() is the lock

    def append(self, number: int, text: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        until = dt.datetime.now(dt.UTC) + dt.timedelta(days=settings.AUDIT_SEAL_S3_RETAIN_DAYS)
        key = self.key(number)
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=(text + "\n").encode(),
                ContentType="application/json",
                ObjectLockMode="COMPLIANCE",
                ObjectLockRetainUntilDate=until,
                IfNoneMatch="*",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] in CONFLICT_CODES:
                raise SealConflict(f"{self.url}: seal {number} exists already") from None
            raise self._error(exc, f"writing seal {number}") from None
        except BotoCoreError as exc:
            raise self._error(exc, f"writing seal {number}") from None
        return f"s3://{self.bucket}/{key}"

    def read(self, cursor: object = None) -> Iterator[SealRecord]:
        """Every seal object after key ``cursor``: its first (locked) version, whatever was
        put or deleted over it since; such later versions are reported as problems."""
        from botocore.exceptions import BotoCoreError, ClientError

        self.check_object_lock()
        versions: dict[str, list[dict]] = {}
        try:
            pages = self.client.get_paginator("list_object_versions").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for kind in ("Versions", "DeleteMarkers"):
                    for item in page.get(kind, []):
                        if cursor is None or item["Key"] > cursor:
                            versions.setdefault(item["Key"], []).append({**item, "kind": kind})
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "listing seals") from None
        for key in sorted(versions):
            items = versions[key]
            # S3 lists a key's versions newest first: the first one stored is the last listed
            originals = [item for item in items if item["kind"] == "Versions"][::-1]
            problems = []
            if len(originals) > 1:
                problems.append(f"the object was overwritten {len(originals) - 1} time(s)")
            if any(item["kind"] == "DeleteMarkers" for item in items):
                problems.append("the object was deleted (a delete marker hides it)")
            if not originals:
                yield SealRecord(f"s3://{self.bucket}/{key}", "", key, (*problems, "no data"))
                continue
            try:
                body = self.client.get_object(
                    Bucket=self.bucket, Key=key, VersionId=originals[0]["VersionId"]
                )["Body"].read()
            except (ClientError, BotoCoreError) as exc:
                raise self._error(exc, f"reading {key}") from None
            text = body.decode("utf-8", errors="replace").rstrip("\n")
            yield SealRecord(f"s3://{self.bucket}/{key}", text, key, tuple(problems))


def seal_sink(url: str | None = None) -> FileSink | S3Sink:
    """The sink named by ``url`` (default: AUDIT_SEAL_SINK)."""
    url = url if url is not None else settings.AUDIT_SEAL_SINK
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc or not parts.path.startswith("/") or parts.path.endswith("/"):
            raise ImproperlyConfigured(f"{SINK_HELP} (a file's absolute path), not {url!r}")
        return FileSink(Path(parts.path))
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ImproperlyConfigured(f"{SINK_HELP} (a bucket name), not {url!r}")
        if settings.AUDIT_SEAL_S3_RETAIN_DAYS < 1:
            raise ImproperlyConfigured(
                "AUDIT_SEAL_S3_RETAIN_DAYS must be at least 1 (days each seal stays locked), "
                f"not {settings.AUDIT_SEAL_S3_RETAIN_DAYS}"
            )
        prefix = parts.path.lstrip("/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return S3Sink(parts.netloc, prefix)
    raise ImproperlyConfigured(f"{SINK_HELP}, not {url!r}")
