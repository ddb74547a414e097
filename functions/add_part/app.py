"""add_part: an S3 capture notification (via SQS) becomes a Jumio part, or a recorded rejection.

Thin handler: read the notification, hand each capture identity to ``CaptureService`` once
(Powertools idempotency keyed on bucket + key + versionId, never the SQS message id), and shape
the partial batch response. The S3 test event is acknowledged and dropped; a malformed message
is parked in the DLQ at once; a capture whose session is not registered yet is requeued with
growing delay until CAPTURE_MAX_WAIT_SECONDS; a Jumio outage is a batch item failure.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from jumio_pipeline.capture import CaptureService, key_digest
from jumio_pipeline.capture_adapters import EmfMetrics, S3ObjectStore, SessionWait, attempt_of
from jumio_pipeline.capture_keys import parse_capture_key
from jumio_pipeline.completion import signal_if_complete
from jumio_pipeline.dead_letter import park_in_dlq
from jumio_pipeline.deletion import CAPTURE_IDEMPOTENCY_KEY_PREFIX
from jumio_pipeline.errors import InvalidMessage, SessionNotRegistered
from jumio_pipeline.jumio import CredentialsClient, JumioHttp, JumioSettings
from jumio_pipeline.ledger import Ledger
from jumio_pipeline.s3_events import CaptureIdentity, parse_notification

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "add_part")
logger = Logger()
tracer = Tracer()
metrics = EmfMetrics(
    os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "JumioCapturePipeline"), SERVICE
)

sqs = boto3.client("sqs")
stepfunctions = boto3.client("stepfunctions")
ledger = Ledger(os.environ["LEDGER_TABLE"])
captures = CaptureService(
    ledger=ledger,
    objects=S3ObjectStore(boto3.client("s3")),
    jumio=CredentialsClient(JumioHttp(JumioSettings.from_env())),
    signal_completion=lambda workflow_id: signal_if_complete(ledger, stepfunctions, workflow_id),
    metrics=metrics,
    unmatched_retention_days=int(os.environ.get("RETENTION_DAYS", "30")),
)
idempotency_config = IdempotencyConfig(
    event_key_jmespath="[bucket, key, versionId]",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=86400,
)
persistence = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"])


@idempotent_function(
    data_keyword_argument="capture",
    persistence_store=persistence,
    config=idempotency_config,
    # A fixed prefix, so that deletion can recompute the record ids of a capture.
    key_prefix=CAPTURE_IDEMPOTENCY_KEY_PREFIX,
)
def deliver_once(capture: dict[str, str], identity: CaptureIdentity) -> dict[str, Any]:
    """Process one capture; only the outcome's codes are stored in the idempotency record.

    SessionNotRegistered and Jumio's transient errors propagate: Powertools then deletes the
    in-progress record, so the retry is not blocked.
    """
    return captures.process(identity).to_record()


def _session_wait() -> SessionWait:
    """Read at call time: tests (and operators) may change the bound between invocations."""
    return SessionWait(
        sqs,
        queue_url=os.environ["CAPTURE_EVENTS_QUEUE_URL"],
        dlq_url=os.environ["CAPTURE_EVENTS_DLQ_URL"],
        max_wait_seconds=float(os.environ.get("CAPTURE_MAX_WAIT_SECONDS", "3600")),
        base_delay_seconds=float(os.environ.get("CAPTURE_RETRY_BASE_SECONDS", "5")),
    )


def _correlate(identity: CaptureIdentity) -> None:
    """Correlation id = workflowExecutionId, when the key names one."""
    try:
        logger.set_correlation_id(parse_capture_key(identity.encoded_key).workflow_execution_id)
    except InvalidMessage:
        logger.set_correlation_id(None)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    try:
        notification = parse_notification(record.body)
    except InvalidMessage as exc:
        logger.warning("capture event refused", extra={"reason": exc.reason, "field": exc.field})
        metrics.count("CaptureEventInvalid", reason=exc.reason)
        park_in_dlq(
            sqs,
            os.environ["CAPTURE_EVENTS_DLQ_URL"],
            body=record.body,
            reason=exc.reason,
            message=str(exc),
            source_message_id=record.message_id,
            field=exc.field,
        )
        return
    if notification.is_test_event:
        logger.info("s3:TestEvent acknowledged and dropped")
        return
    waiting: CaptureIdentity | None = None
    for identity in notification.captures:
        _correlate(identity)
        if _deliver_logged(identity) is None:
            waiting = waiting or identity
    logger.set_correlation_id(None)
    if waiting is not None:
        _correlate(waiting)
        decision = _session_wait().retry_or_park(
            body=record.body,
            attempt=attempt_of(record.raw_event.get("messageAttributes")),
            event_time=waiting.event_time.timestamp(),
            message_id=record.message_id,
        )
        logger.info(
            "capture waits for its session",
            extra={
                "parked": decision.parked,
                "attempt": decision.attempt,
                "delaySeconds": decision.delay_seconds,
            },
        )
        metrics.count("CaptureParked" if decision.parked else "CaptureWaitingForSession")
        logger.set_correlation_id(None)


def _deliver_logged(identity: CaptureIdentity) -> dict[str, Any] | None:
    """Deliver once and log the outcome; None when the session is not registered yet."""
    try:
        outcome = deliver_once(capture=identity.idempotency_payload(), identity=identity)
    except SessionNotRegistered:
        return None
    logger.info(
        "capture processed",
        extra={
            **outcome,
            "versionId": identity.version_id,
            "keyDigest": key_digest(identity.key),
        },
    )
    return outcome


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    idempotency_config.register_lambda_context(context)
    # One processor per invocation: it holds the batch's state (the local cloud runs
    # concurrent invocations of one function as threads of one process).
    processor = BatchProcessor(event_type=EventType.SQS)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
