"""SQS as the pipeline uses it beyond the event source: dead letters and delayed retries.

Parking a message that can never succeed in its DLQ at once, with the reason beside it, beats
retrying it: retries only delay the same failure by maxReceiveCount receives and lose the
reason. The DLQ copy keeps the original body (the DLQ is KMS-encrypted like its source) and
carries the reason code and a plain message in its attributes, never a value.
"""

from __future__ import annotations

from typing import Any

import boto3

ATTEMPT_ATTRIBUTE = "captureAttempt"
MAX_SQS_DELAY_SECONDS = 900
MAX_MESSAGE_BYTES = 262_144  # body and attributes together
_DETAIL_LIMIT = 1000


class DeadLetterQueue:
    """One DLQ: ``park`` sends a body there with its reason in message attributes."""

    def __init__(self, queue_url: str, *, sqs: Any = None) -> None:
        self._url = queue_url
        self._sqs = sqs or boto3.client("sqs")

    def park(
        self,
        *,
        body: str,
        reason: str,
        message: str,
        source_message_id: str,
        field: str = "",
    ) -> None:
        """Send ``body`` to the DLQ with ``reason``, ``detail``, ``sourceMessageId``, ``field``.

        The body is kept whole (nothing may be lost); the detail is shortened when body and
        attributes together would pass SQS's message size limit.
        """
        attributes = {
            "reason": _text(reason),
            "sourceMessageId": _text(source_message_id),
        }
        if field:
            attributes["field"] = _text(field)
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
    """Puts a copy of a message back on its queue with a delay and an attempt counter."""

    def __init__(self, queue_url: str, *, sqs: Any = None) -> None:
        self._url = queue_url
        self._sqs = sqs or boto3.client("sqs")

    def send(self, *, body: str, delay_seconds: int, attempt: int) -> None:
        """Visible again after ``delay_seconds`` (at most SQS's 900 s), carrying ``attempt``."""
        self._sqs.send_message(
            QueueUrl=self._url,
            MessageBody=body,
            DelaySeconds=min(MAX_SQS_DELAY_SECONDS, max(0, delay_seconds)),
            MessageAttributes={
                ATTEMPT_ATTRIBUTE: {"DataType": "Number", "StringValue": str(attempt)}
            },
        )


def attempt_of(message_attributes: dict[str, Any] | None) -> int:
    """The attempt counter a requeued copy carries (0 for the original message)."""
    attribute = (message_attributes or {}).get(ATTEMPT_ATTRIBUTE) or {}
    value = attribute.get("stringValue") or attribute.get("StringValue") or "0"
    return int(value) if str(value).isdigit() else 0


class MessageQueue:
    """Sends messages to one queue in batches of ten (SQS's limit per call)."""

    BATCH = 10

    def __init__(self, queue_url: str, *, sqs: Any = None) -> None:
        self._url = queue_url
        self._sqs = sqs or boto3.client("sqs")

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
