"""SQS as the pipeline uses it beyond the event source: dead letters and delayed retries.

Parking a message that can never succeed in its DLQ at once, with the reason beside it, beats
retrying it: retries only delay the same failure by maxReceiveCount receives and lose the
reason. The DLQ copy keeps the original body (the DLQ is KMS-encrypted like its source) and
carries the reason code and a plain message in its attributes, never a value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jumio_pipeline.adapters import aws_clients

ATTEMPT_ATTRIBUTE = "waitAttempt"
FIRST_SEEN_ATTRIBUTE = "firstSeenAt"
MAX_SQS_DELAY_SECONDS = 900
MAX_MESSAGE_BYTES = 262_144  # body and attributes together
_DETAIL_LIMIT = 1000


class DeadLetterQueue:
    """One DLQ: ``park`` sends a body there with its reason in message attributes."""

    def __init__(self, queue_url: str, *, sqs: Any = None) -> None:
        self._url = queue_url
        self._sqs = sqs or aws_clients.client("sqs")

    def park(
        self,
        *,
        body: str,
        reason: str,
        message: str,
        source_message_id: str,
        field: str = "",
        error_type: str = "",
    ) -> None:
        """Send ``body`` to the DLQ with ``reason``, ``detail``, ``sourceMessageId``, ``field``
        and, for a failure the pipeline did not expect, ``errorType`` (a class name).

        The body is kept whole (nothing may be lost); the detail is shortened when body and
        attributes together would pass SQS's message size limit.
        """
        attributes = {
            "reason": _text(reason),
            "sourceMessageId": _text(source_message_id),
        }
        if field:
            attributes["field"] = _text(field)
        if error_type:
            attributes["errorType"] = _text(error_type)
        room = MAX_MESSAGE_BYTES - len(body.encode("utf-8")) - _attributes_size(attributes)
        room -= len("detail") + len("String")
        detail = _fit(message or reason, min(_DETAIL_LIMIT, room))
        if detail:
            attributes["detail"] = _text(detail)
        self._sqs.send_message(QueueUrl=self._url, MessageBody=body, MessageAttributes=attributes)


def _text(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}


def _attributes_size(attributes: dict[str, dict[str, str]]) -> int:
    """What SQS counts of the attributes: names, types and values."""
    return sum(
        len(name) + len(value["DataType"]) + len(value["StringValue"].encode("utf-8"))
        for name, value in attributes.items()
    )


def _fit(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` UTF-8 bytes (empty when there is no room)."""
    if limit <= 0:
        return ""
    encoded = text.encode("utf-8")
    return text if len(encoded) <= limit else encoded[:limit].decode("utf-8", "ignore")


class DelayedRequeue:
    """Puts a copy of a message back on its queue with a delay, its attempt and first sighting."""

    def __init__(self, queue_url: str, *, sqs: Any = None) -> None:
        self._url = queue_url
        self._sqs = sqs or aws_clients.client("sqs")

    def send(self, *, body: str, delay_seconds: int, attempt: int, first_seen_at: float) -> None:
        """Visible again after ``delay_seconds`` (at most SQS's 900 s)."""
        self._sqs.send_message(
            QueueUrl=self._url,
            MessageBody=body,
            DelaySeconds=min(MAX_SQS_DELAY_SECONDS, max(0, delay_seconds)),
            MessageAttributes={
                ATTEMPT_ATTRIBUTE: {"DataType": "Number", "StringValue": str(attempt)},
                FIRST_SEEN_ATTRIBUTE: {"DataType": "Number", "StringValue": f"{first_seen_at:.3f}"},
            },
        )


class Visibility:
    """When a message that failed comes back: sooner than the queue's visibility timeout."""

    def __init__(self, queue_url: str, *, sqs: Any = None) -> None:
        self._url = queue_url
        self._sqs = sqs or aws_clients.client("sqs")

    def retry_after(self, receipt_handle: str, seconds: int) -> None:
        """Make the message visible again in ``seconds`` (0..12 h, as SQS allows)."""
        self._sqs.change_message_visibility(
            QueueUrl=self._url,
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=min(43_200, max(0, int(seconds))),
        )


@dataclass(frozen=True)
class Delivery:
    """What SQS says about one delivery of a record: which try, and since when it exists."""

    receive_count: int
    wait_attempt: int
    first_seen_at: float


def delivery_of(record: dict[str, Any]) -> Delivery:
    """Read the record's receive count, its wait attempt and when it was first produced.

    ``first_seen_at`` is the original message's: a requeued copy carries it as an attribute,
    the original has SQS's SentTimestamp (ms).
    """
    attributes = record.get("attributes") or {}
    message_attributes = record.get("messageAttributes") or {}
    sent_ms = _number(attributes.get("SentTimestamp"))
    first_seen = _number(_attribute_value(message_attributes, FIRST_SEEN_ATTRIBUTE))
    return Delivery(
        receive_count=int(_number(attributes.get("ApproximateReceiveCount")) or 1),
        wait_attempt=int(_number(_attribute_value(message_attributes, ATTEMPT_ATTRIBUTE)) or 0),
        first_seen_at=first_seen if first_seen is not None else (sent_ms or 0) / 1000,
    )


def _attribute_value(message_attributes: dict[str, Any], name: str) -> Any:
    attribute = message_attributes.get(name) or {}
    return attribute.get("stringValue") or attribute.get("StringValue")


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class MessageQueue:
    """Sends messages to one queue in batches of ten (SQS's limit per call)."""

    BATCH = 10

    def __init__(self, queue_url: str, *, sqs: Any = None) -> None:
        self._url = queue_url
        self._sqs = sqs or aws_clients.client("sqs")

    def send_all(self, bodies: list[str]) -> None:
        """Send every body; raise if SQS refused any (the caller's run is retried whole)."""
        for start in range(0, len(bodies), self.BATCH):
            batch = bodies[start : start + self.BATCH]
            response = self._sqs.send_message_batch(
                QueueUrl=self._url,
                Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(batch)],
            )
            if response.get("Failed"):
                raise RuntimeError(f"{len(response['Failed'])} messages were not queued")


class DeadLetterSweeper:
    """Removes an erased subject's messages from every dead-letter queue of the stack.

    A DLQ keeps whole bodies (an S3 event names the session in its key; registrations,
    prepared data and requests name it in their JSON), so an erasure that left them there
    would not be complete. Each DLQ is read through: matching messages are deleted, the others
    are made visible again at once. Messages another consumer holds at that moment (an
    operator's redrive in progress) are not seen; the DLQs' retention bounds them anyway.
    """

    def __init__(self, queue_urls: list[str], *, sqs: Any = None, hold_seconds: int = 60) -> None:
        self._urls = [url for url in queue_urls if url]
        self._sqs = sqs or aws_clients.client("sqs")
        self._hold = hold_seconds

    def remove_mentioning(self, ids: set[str]) -> int:
        """Delete every DLQ message whose body names one of ``ids`` (any case); the count."""
        needles = {identifier.lower() for identifier in ids if identifier}
        if not needles:
            return 0
        return sum(self._sweep(url, needles) for url in self._urls)

    def _sweep(self, url: str, needles: set[str]) -> int:
        removed = 0
        kept: list[str] = []
        try:
            while True:
                messages = self._sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=self._hold
                ).get("Messages", [])
                if not messages:
                    return removed
                for message in messages:
                    body = message["Body"].lower()
                    if any(needle in body for needle in needles):
                        self._sqs.delete_message(
                            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"]
                        )
                        removed += 1
                    else:
                        kept.append(message["ReceiptHandle"])
        finally:
            for start in range(0, len(kept), 10):
                self._sqs.change_message_visibility_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                        for i, handle in enumerate(kept[start : start + 10])
                    ],
                )
