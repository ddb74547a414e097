"""The AWS side of capture ingestion: S3 reads and tags, metrics, and the wait for a session.

Kept out of ``jumio_pipeline.capture`` so the service's decisions stay free of boto3; each
class here is the small adapter one port of that service needs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import single_metric
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError

from jumio_pipeline.dead_letter import park_in_dlq

ATTEMPT_ATTRIBUTE = "captureAttempt"
MAX_SQS_DELAY_SECONDS = 900
_GONE = frozenset({"NoSuchKey", "NoSuchVersion", "404", "InvalidArgument"})


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


class S3ObjectStore:
    """GetObject and PutObjectTagging by VersionId on the captures bucket."""

    def __init__(self, s3: Any) -> None:
        self._s3 = s3

    def open_version(self, bucket: str, key: str, version_id: str | None) -> S3StoredObject | None:
        """Open the version (or None once deleted); the body stays a stream until read."""
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id:
            kwargs["VersionId"] = version_id
        try:
            response = self._s3.get_object(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _GONE:
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
            if exc.response.get("Error", {}).get("Code") not in _GONE:
                raise


class EmfMetrics:
    """One EMF metric per count, so each carries only its own dimensions (e.g. ``reason``)."""

    def __init__(self, namespace: str, service: str) -> None:
        self._namespace = namespace
        self._service = service

    def count(self, name: str, **dimensions: str) -> None:
        """Emit ``name`` = 1 with ``dimensions`` (codes only, never ids or content)."""
        with single_metric(
            name=name,
            unit=MetricUnit.Count,
            value=1,
            namespace=self._namespace,
            default_dimensions={"service": self._service, **dimensions},
        ):
            pass


@dataclass(frozen=True)
class WaitDecision:
    """What became of a capture whose session is not registered yet."""

    parked: bool
    attempt: int
    delay_seconds: int


class SessionWait:
    """Retry a capture until its session is registered, with exponential backoff, bounded.

    A copy of the message goes back onto the capture queue with ``DelaySeconds`` doubling per
    attempt (capped at SQS's 900 s) and the attempt count in a message attribute; the original
    is then reported done. This backs off independently of the queue's maxReceiveCount, which
    stays reserved for Jumio outages. Once the capture is older than ``max_wait_seconds``
    (measured from the S3 event time) it is parked in the DLQ with SESSION_NOT_REGISTERED.
    """

    def __init__(
        self,
        sqs: Any,
        *,
        queue_url: str,
        dlq_url: str,
        max_wait_seconds: float,
        base_delay_seconds: float,
        clock: Any = time.time,
    ) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._dlq_url = dlq_url
        self._max_wait = max_wait_seconds
        self._base_delay = base_delay_seconds
        self._clock = clock

    def retry_or_park(
        self, *, body: str, attempt: int, event_time: float, message_id: str
    ) -> WaitDecision:
        """Requeue ``body`` with a longer delay, or park it once it waited long enough."""
        age = self._clock() - event_time
        if age >= self._max_wait:
            park_in_dlq(
                self._sqs,
                self._dlq_url,
                body=body,
                reason="SESSION_NOT_REGISTERED",
                message=(
                    f"no session was registered within {int(self._max_wait)} s of the capture "
                    f"({attempt} retries)"
                ),
                source_message_id=message_id,
            )
            return WaitDecision(parked=True, attempt=attempt, delay_seconds=0)
        delay = int(min(MAX_SQS_DELAY_SECONDS, self._base_delay * 2**attempt))
        self._sqs.send_message(
            QueueUrl=self._queue_url,
            MessageBody=body,
            DelaySeconds=delay,
            MessageAttributes={
                ATTEMPT_ATTRIBUTE: {"DataType": "Number", "StringValue": str(attempt + 1)}
            },
        )
        return WaitDecision(parked=False, attempt=attempt + 1, delay_seconds=delay)


def attempt_of(message_attributes: dict[str, Any] | None) -> int:
    """The attempt counter a requeued copy carries (0 for S3's original message)."""
    attribute = (message_attributes or {}).get(ATTEMPT_ATTRIBUTE) or {}
    value = attribute.get("stringValue") or attribute.get("StringValue") or "0"
    return int(value) if str(value).isdigit() else 0
