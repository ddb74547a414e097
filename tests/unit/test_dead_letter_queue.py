"""Parking keeps the whole body and fits its attributes within SQS's message size limit."""

from __future__ import annotations

from typing import Any

from jumio_pipeline.adapters.queues import MAX_MESSAGE_BYTES, DeadLetterQueue


class _RecordingSqs:
    """Stands in for the SQS client: records what would be sent (moto does not enforce the
    256 KiB limit, so the size arithmetic is checked here)."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **kwargs: Any) -> None:
        self.sent.append(kwargs)


def _size(message: dict[str, Any]) -> int:
    attributes = message["MessageAttributes"]
    counted = sum(
        len(name) + len(value["DataType"]) + len(value["StringValue"].encode())
        for name, value in attributes.items()
    )
    return len(message["MessageBody"].encode()) + counted


def test_a_small_body_keeps_reason_detail_source_and_field() -> None:
    sqs = _RecordingSqs()
    DeadLetterQueue("q", sqs=sqs).park(
        body="{}", reason="INVALID", message="x" * 5000, source_message_id="m-1", field="data.sex"
    )
    [sent] = sqs.sent
    attributes = {k: v["StringValue"] for k, v in sent["MessageAttributes"].items()}
    assert attributes == {
        "reason": "INVALID",
        "detail": "x" * 1000,
        "sourceMessageId": "m-1",
        "field": "data.sex",
    }


def test_a_body_near_the_limit_is_kept_whole_and_the_detail_shrinks_to_fit() -> None:
    sqs = _RecordingSqs()
    body = "b" * (MAX_MESSAGE_BYTES - 300)
    DeadLetterQueue("q", sqs=sqs).park(
        body=body, reason="MESSAGE_TOO_LARGE", message="é" * 900, source_message_id="m-2"
    )
    [sent] = sqs.sent
    assert sent["MessageBody"] == body
    assert sent["MessageAttributes"]["reason"]["StringValue"] == "MESSAGE_TOO_LARGE"
    assert _size(sent) <= MAX_MESSAGE_BYTES
    assert sent["MessageAttributes"]["detail"]["StringValue"].startswith("é")
