"""The SQS batch loop of every queue-driven handler, and the one way to refuse a message.

One BatchProcessor per invocation (it holds the batch's state; the local cloud runs concurrent
invocations of a function as threads of one process), partial batch responses so a bad record
never fails its neighbours, every failure classified (:mod:`jumio_pipeline.handlers.failures`),
and an invalid message parked in its DLQ at once with its reason, counted and logged without
its body.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from jumio_pipeline.adapters.queues import Visibility
from jumio_pipeline.domain.errors import InvalidMessage
from jumio_pipeline.handlers.failures import Backoff, FailureHandling
from jumio_pipeline.handlers.observability import Observability
from jumio_pipeline.handlers.settings import QueueConsumerSettings
from jumio_pipeline.services.ports import DeadLetters

RecordHandler = Callable[[SQSRecord], None]


def process_batch(
    event: dict[str, Any],
    context: Any,
    record_handler: RecordHandler,
    failures: FailureHandling,
) -> dict:
    """Run ``record_handler`` on every record; a failure is parked, or retried soon.

    What is retried becomes a ``batchItemFailures`` entry, with its visibility shortened, even
    when that is every record of the batch (Powertools would raise then): a batch of duplicates
    still in progress, or of captures waiting for their session, is not a function error, and
    must not count in the Errors alarm; a lasting failure shows in queue age and DLQ depth.
    """

    def guarded(record: SQSRecord) -> None:
        try:
            record_handler(record)
        except Exception as exc:
            failures.handle(record, exc)

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(
        event=event, record_handler=guarded, processor=processor, context=context
    )


def json_object(body: str, *, not_an_object: str = "INVALID_MESSAGE") -> dict[str, Any]:
    """The message body as a JSON object, or InvalidMessage saying why it is not one.

    ``not_an_object`` is the reason code for valid JSON that is not an object (each queue's
    contract names its own, e.g. INVALID_REGISTRATION).
    """
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidMessage("INVALID_JSON", "the message body is not JSON") from None
    if not isinstance(document, dict):
        raise InvalidMessage(not_an_object, "the message body is not a JSON object")
    return document


def park_invalid(
    record: SQSRecord,
    error: InvalidMessage,
    *,
    dead_letters: DeadLetters,
    observed: Observability,
    metric: str,
) -> None:
    """Refuse a message that can never be processed: DLQ with the reason, a metric, a log line."""
    observed.logger.warning(
        "message refused",
        extra={"reason": error.reason, "field": error.field, "messageId": record.message_id},
    )
    observed.metrics.count(metric, reason=error.reason)
    dead_letters.park(
        body=record.body,
        reason=error.reason,
        message=str(error),
        source_message_id=record.message_id,
        field=error.field,
    )


def failure_handling(
    settings: QueueConsumerSettings, observed: Observability, dead_letters: DeadLetters
) -> FailureHandling:
    """The failure policy of a queue-driven function, on its own queue and DLQ."""
    return FailureHandling(
        dead_letters=dead_letters,
        retries=Visibility(settings.source_queue_url),
        max_receive_count=settings.max_receive_count,
        observed=observed,
        backoff=Backoff(
            base=settings.retry_backoff_base_seconds, cap=settings.retry_backoff_cap_seconds
        ),
    )
