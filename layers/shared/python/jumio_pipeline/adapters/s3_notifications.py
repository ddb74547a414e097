"""Reading S3 ObjectCreated notifications that arrive wrapped in SQS messages.

Each record becomes a :class:`CaptureIdentity` (bucket, key, versionId). Powertools'
``S3Event`` data class is used rather than the strict ``S3Model`` parser so that events without
``userIdentity``/``requestParameters`` (moto's, and some replays) are still read; keys are
URL-decoded here (S3 sends them ``quote_plus``-encoded). The ``s3:TestEvent`` S3 sends when the
notification is configured is recognised so it can be acknowledged and dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes.s3_event import S3Event

from jumio_pipeline.domain.capture_identity import CaptureIdentity
from jumio_pipeline.domain.errors import InvalidMessage

TEST_EVENT = "s3:TestEvent"


@dataclass(frozen=True)
class S3Notification:
    """The content of one SQS message from S3: captures, or nothing (the test event)."""

    captures: tuple[CaptureIdentity, ...]
    is_test_event: bool = False


def parse_notification(body: str) -> S3Notification:
    """Read an SQS message body written by S3, or raise InvalidMessage naming what is wrong."""
    try:
        document = json.loads(body)
    except json.JSONDecodeError:
        raise InvalidMessage("INVALID_JSON", "the message body is not JSON") from None
    if not isinstance(document, dict):
        raise InvalidMessage("INVALID_S3_EVENT", "the message body is not a JSON object")
    if document.get("Event") == TEST_EVENT:
        return S3Notification(captures=(), is_test_event=True)
    records = document.get("Records")
    if not isinstance(records, list) or not records:
        raise InvalidMessage(
            "INVALID_S3_EVENT", "the message has no S3 Records list", field="Records"
        )
    event = S3Event(document)
    return S3Notification(
        captures=tuple(_identity(record, index) for index, record in enumerate(event.records))
    )


def _identity(record: Any, index: int) -> CaptureIdentity:
    """One record's object identity; missing optional fields (moto) become None."""
    field = f"Records.{index}"
    try:
        bucket = record.s3.bucket.name
        s3_object = record.s3.get_object
        encoded_key = s3_object.key
    except (KeyError, TypeError):
        raise InvalidMessage(
            "INVALID_S3_EVENT", f"{field} has no s3.bucket.name or s3.object.key", field=field
        ) from None
    if not isinstance(encoded_key, str) or not encoded_key or not isinstance(bucket, str):
        raise InvalidMessage("INVALID_S3_EVENT", f"{field} has an empty bucket or key", field=field)
    raw_object = s3_object.raw_event
    size = raw_object.get("size")
    return CaptureIdentity(
        bucket=bucket,
        key=unquote_plus(encoded_key),
        encoded_key=encoded_key,
        version_id=raw_object.get("versionId") or None,
        etag=raw_object.get("eTag") or None,
        size=int(size) if isinstance(size, int | str) and str(size).isdigit() else None,
        sequencer=raw_object.get("sequencer") or None,
        event_time=_event_time(record.get("eventTime"), field),
    )


def _event_time(value: Any, field: str) -> datetime:
    """S3's ``eventTime`` (ISO 8601, ``Z``); it bounds how long a capture may wait."""
    if not isinstance(value, str):
        raise InvalidMessage(
            "INVALID_S3_EVENT", f"{field}.eventTime is missing", field=f"{field}.eventTime"
        )
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidMessage(
            "INVALID_S3_EVENT",
            f"{field}.eventTime is not an ISO 8601 time",
            field=f"{field}.eventTime",
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
