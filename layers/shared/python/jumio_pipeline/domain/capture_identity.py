"""What a capture *is*: one S3 object version, named by (bucket, key, versionId).

That triple is what idempotency keys on, never the SQS message id, because S3 may notify
twice and SQS may deliver twice. The notification's sequencer orders versions of one key, so
a late notification of an older version can be told from a retake.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class CaptureIdentity:
    """One S3 object version as the notification named it."""

    bucket: str
    key: str  # URL-decoded, as GetObject wants it
    encoded_key: str  # as the notification carried it, for parse_capture_key
    version_id: str | None
    etag: str | None
    size: int | None
    sequencer: str | None
    event_time: datetime

    @property
    def version_label(self) -> str:
        """The version id; events without one (moto's) fall back to the eTag of the content."""
        if self.version_id:
            return self.version_id
        return f"etag:{self.etag}" if self.etag else "null"

    def idempotency_payload(self) -> dict[str, Any]:
        """The fields the idempotency key is derived from (ids only, never content)."""
        return {"bucket": self.bucket, "key": self.key, "versionId": self.version_label}


def sequencer_is_older(candidate: str | None, reference: str | None) -> bool:
    """True when ``candidate`` was written before ``reference`` (S3 sequencer order).

    Sequencers are hex strings of varying length: S3 says to compare them as strings after
    left-padding the shorter one with zeros. Unknown sequencers never count as older.
    """
    if not candidate or not reference:
        return False
    width = max(len(candidate), len(reference))
    return candidate.upper().rjust(width, "0") < reference.upper().rjust(width, "0")


def key_digest(key: str) -> str:
    """A short, stable name of a key for logs (a foreign key may hold anything)."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ObjectVersion:
    """One stored version (or delete marker) of a capture, as an erasure lists them."""

    key: str
    version_id: str
    is_delete_marker: bool
    etag: str | None = None
