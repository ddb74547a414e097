"""The captures bucket (S3): read one object version, tag it, list and delete versions.

Every call names the exact version: a capture is one object version, and a retake is another
one of the same key. A version deleted in the meantime is an answer (None, nothing to tag),
not an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from jumio_pipeline.adapters import aws_clients
from jumio_pipeline.adapters.aws_errors import error_code
from jumio_pipeline.domain.capture_identity import ObjectVersion
from jumio_pipeline.domain.errors import ErasureIncomplete

S3_DELETE_BATCH = 1000
# The version, its key or its bucket is gone: nothing to read or tag, an answer not a failure.
_GONE = frozenset({"NoSuchKey", "NoSuchVersion", "NoSuchBucket", "404", "InvalidArgument"})


@dataclass
class S3StoredObject:
    """An object version opened with GetObject: size known, body not yet read."""

    size: int
    version_id: str | None
    body: Any

    def read(self) -> bytes:
        """The whole body, exactly as stored."""
        return self.body.read()

    def close(self) -> None:
        """Release the connection without reading what is left (TOO_LARGE)."""
        self.body.close()


@dataclass(frozen=True)
class DeletedVersions:
    """How many object versions and delete markers a batch deletion removed."""

    versions: int
    delete_markers: int


class S3ObjectStore:
    """GetObject, PutObjectTagging, ListObjectVersions and DeleteObjects by VersionId."""

    def __init__(self, *, s3: Any = None) -> None:
        self._s3 = s3 or aws_clients.client("s3")

    def open_version(self, bucket: str, key: str, version_id: str | None) -> S3StoredObject | None:
        """Open the version (or None once deleted); the body stays a stream until read."""
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id:
            kwargs["VersionId"] = version_id
        try:
            response = self._s3.get_object(**kwargs)
        except ClientError as exc:
            if error_code(exc) in _GONE:
                return None
            raise
        return S3StoredObject(
            size=int(response["ContentLength"]),
            version_id=response.get("VersionId"),
            body=response["Body"],
        )

    def tag_version(
        self, bucket: str, key: str, version_id: str | None, tags: dict[str, str]
    ) -> None:
        """Tag the exact version; a version deleted in the meantime has nothing to tag."""
        kwargs: dict[str, Any] = {
            "Bucket": bucket,
            "Key": key,
            "Tagging": {"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]},
        }
        if version_id:
            kwargs["VersionId"] = version_id
        try:
            self._s3.put_object_tagging(**kwargs)
        except ClientError as exc:
            if error_code(exc) not in _GONE:
                raise

    def versions(self, bucket: str, prefix: str) -> Iterator[ObjectVersion]:
        """Every version and delete marker under ``prefix`` (paginated)."""
        paginator = self._s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for version in page.get("Versions", []):
                yield ObjectVersion(
                    version["Key"], version["VersionId"], False, version.get("ETag")
                )
            for marker in page.get("DeleteMarkers", []):
                yield ObjectVersion(marker["Key"], marker["VersionId"], True)

    def delete_versions(self, bucket: str, versions: list[ObjectVersion]) -> DeletedVersions:
        """Delete these versions for good; ErasureIncomplete if S3 kept any (retry finishes)."""
        removed_versions = removed_markers = 0
        for start in range(0, len(versions), S3_DELETE_BATCH):
            batch = versions[start : start + S3_DELETE_BATCH]
            response = self._s3.delete_objects(
                Bucket=bucket,
                Delete={
                    "Objects": [{"Key": v.key, "VersionId": v.version_id} for v in batch],
                    "Quiet": False,
                },
            )
            markers = {(v.key, v.version_id) for v in batch if v.is_delete_marker}
            for deleted in response.get("Deleted", []):
                if (deleted["Key"], deleted.get("VersionId")) in markers:
                    removed_markers += 1
                else:
                    removed_versions += 1
            if response.get("Errors"):
                codes = sorted({error.get("Code", "?") for error in response["Errors"]})
                raise ErasureIncomplete(
                    f"S3 kept {len(response['Errors'])} object version(s): {', '.join(codes)}"
                )
        return DeletedVersions(removed_versions, removed_markers)
