"""Parking a message that can never succeed in its DLQ at once, with the reason beside it.

Retrying a message that is invalid only delays the same failure by maxReceiveCount receives and
loses the reason; the DLQ copy keeps the original body (the DLQ is KMS-encrypted like its
source) and carries the reason code and a plain message in its attributes, never a value.
"""

from __future__ import annotations

from typing import Any


def park_in_dlq(
    sqs: Any,
    dlq_url: str,
    *,
    body: str,
    reason: str,
    message: str,
    source_message_id: str,
    field: str = "",
) -> None:
    """Send ``body`` to the DLQ with the reason in message attributes."""
    attributes = {
        "reason": {"DataType": "String", "StringValue": reason},
        "detail": {"DataType": "String", "StringValue": message[:1000] or reason},
        "sourceMessageId": {"DataType": "String", "StringValue": source_message_id},
    }
    if field:
        attributes["field"] = {"DataType": "String", "StringValue": field}
    sqs.send_message(QueueUrl=dlq_url, MessageBody=body, MessageAttributes=attributes)
