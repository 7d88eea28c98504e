"""The archive's S3 storage: every file an object under Object Lock (COMPLIANCE mode).

A Django storage, so ``STORAGES["archive"]`` switches the archive from the filesystem to S3
without a change of code. Each object is written once (``If-None-Match: *``) with a retention
date ``retain_days`` ahead, so not even the bucket's owner deletes or overwrites it before
then; a PUT over a key adds a version beside the locked one, and the archive's sha256 check
refuses what it reads. The bucket must have Object Lock enabled (checked on first use).
``retain_days`` should cover the longest retention policy: a purge is refused by S3 until
the lock ends, whatever the policy says.
"""

import datetime as dt
import io

from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import File
from django.core.files.storage import Storage
from django.utils.deconstruct import deconstructible


@deconstructible
class S3ObjectLockStorage(Storage):
    """Files as objects of ``bucket`` under ``prefix``, each locked for ``retain_days``."""

    def __init__(
        self, *, bucket: str, prefix: str = "", endpoint_url: str = "", retain_days: int = 1827
    ) -> None:
        if not bucket:
            raise ImproperlyConfigured(
                "The archive's S3 storage needs a bucket (ARCHIVE_S3_BUCKET)"
            )
        if retain_days < 1:
            raise ImproperlyConfigured("ARCHIVE_S3_RETAIN_DAYS must be 1 or more")
        self.bucket, self.prefix = bucket, prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint_url, self.retain_days = endpoint_url or None, retain_days
        self._client = None
        self._lock_checked = False

    @property
    def client(self):
        if self._client is None:
            import boto3

            self._client = boto3.client("s3", endpoint_url=self.endpoint_url)
        return self._client

    def _key(self, name: str) -> str:
        return self.prefix + name

    def _check_lock(self) -> None:
        from botocore.exceptions import ClientError

        if self._lock_checked:
            return
        try:
            config = self.client.get_object_lock_configuration(Bucket=self.bucket)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ObjectLockConfigurationNotFoundError":
                raise
            config = {}
        if config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") != "Enabled":
            raise ImproperlyConfigured(
                f"The archive's bucket {self.bucket!r} does not have S3 Object Lock enabled, "
                "so archived files could be overwritten or deleted."
            )
        self._lock_checked = True

    def _open(self, name: str, mode: str = "rb") -> File:
        from botocore.exceptions import ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] in {"NoSuchKey", "404"}:
                raise FileNotFoundError(name) from None
            raise
        return File(io.BytesIO(body.read()), name=name)

    def _save(self, name: str, content) -> str:
        self._check_lock()
        content.seek(0)
        until = dt.datetime.now(dt.UTC) + dt.timedelta(days=self.retain_days)
        self.client.put_object(
            Bucket=self.bucket,
            Key=self._key(name),
            Body=content.read(),
            ObjectLockMode="COMPLIANCE",
            ObjectLockRetainUntilDate=until,
            IfNoneMatch="*",
        )
        return name

    def exists(self, name: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(name))
        except ClientError as exc:
            if exc.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def delete(self, name: str) -> None:
        """Delete every version of ``name``: S3 refuses while its lock lasts."""
        pages = self.client.get_paginator("list_object_versions").paginate(
            Bucket=self.bucket, Prefix=self._key(name)
        )
        for page in pages:
            for version in page.get("Versions", []) + page.get("DeleteMarkers", []):
                if version["Key"] == self._key(name):
                    self.client.delete_object(
                        Bucket=self.bucket, Key=version["Key"], VersionId=version["VersionId"]
                    )

    def size(self, name: str) -> int:
        return self.client.head_object(Bucket=self.bucket, Key=self._key(name))["ContentLength"]

    def url(self, name: str) -> str:
        return f"s3://{self.bucket}/{self._key(name)}"
