"""add_part: an S3 capture notification (via SQS) becomes a Jumio part, or a recorded rejection.

Thin handler: read the notification, hand each capture identity to ``CaptureService`` once
(idempotent on bucket + key + versionId, never the SQS message id), and shape the partial
batch response. The S3 test event is acknowledged and dropped; a malformed message is parked
in the DLQ at once; a capture whose session is not registered yet is requeued with growing
delay until SESSION_WAIT_MAX_SECONDS; any other failure follows the failure policy
(handlers/failures.py: parked with its reason, or retried soon).
"""

from __future__ import annotations

# First: the garbage collector pauses until cold_start_finished() below.
from jumio_pipeline.handlers.cold_start import cold_start_finished

from typing import Any

# Imported before anything imports pydantic: Powertools' batch module then skips loading its
# parser models, which this handler never uses (tens of ms of every cold start).
import aws_lambda_powertools.utilities.batch  # noqa: F401
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from jumio_pipeline.adapters.audit_trail import AuditTrail
from jumio_pipeline.adapters.capture_objects import S3ObjectStore
from jumio_pipeline.adapters.idempotency import CAPTURE_KEY_PREFIX, IdempotencyRecords, RunOnce
from jumio_pipeline.adapters.jumio import CredentialsClient, JumioHttp, JumioSettings
from jumio_pipeline.adapters.jumio.retrieval import JumioRetrieval
from jumio_pipeline.adapters.ledger import Ledger
from jumio_pipeline.adapters.queues import DeadLetterQueue, DelayedRequeue, delivery_of
from jumio_pipeline.adapters.s3_notifications import parse_notification
from jumio_pipeline.adapters.secrets import TenantClientProvider, cached_secret
from jumio_pipeline.adapters.step_functions import StepFunctions
from jumio_pipeline.domain.capture_identity import CaptureIdentity, key_digest
from jumio_pipeline.domain.capture_key import parse_capture_key
from jumio_pipeline.domain.errors import InvalidMessage, SessionDeleted, SessionNotRegistered
from jumio_pipeline.handlers.observability import observability
from jumio_pipeline.handlers.settings import AddPartSettings
from jumio_pipeline.handlers.sqs_batch import failure_handling, park_invalid, process_batch
from jumio_pipeline.services.capture import CaptureService
from jumio_pipeline.services.completion import CompletionSignal
from jumio_pipeline.services.document_pages import DocumentPages
from jumio_pipeline.services.erasure import LateCaptures
from jumio_pipeline.services.refusals import RefusalExplainer
from jumio_pipeline.services.session_wait import SessionWait

settings = AddPartSettings.from_env()
observed = observability(settings)
logger, metrics = observed.logger, observed.metrics

ledger = Ledger(settings.ledger_table)
objects = S3ObjectStore()
http = JumioHttp(JumioSettings.from_env())
jumio = CredentialsClient(http)
retrieval = JumioRetrieval(
    TenantClientProvider(cached_secret(settings.tenant_secret_arn, json_value=True), http)
)
dead_letters = DeadLetterQueue(settings.dead_letter_queue_url)
failures = failure_handling(settings, observed, dead_letters)
captures = CaptureService(
    ledger=ledger,
    objects=objects,
    jumio=jumio,
    documents=DocumentPages(ledger=ledger, objects=objects, jumio=jumio, status=retrieval),
    refusals=RefusalExplainer(retrieval),
    signal_completion=CompletionSignal(ledger=ledger, executions=StepFunctions()),
    metrics=metrics,
    unmatched_retention_days=settings.retention_days,
)
session_wait = SessionWait(
    requeue=DelayedRequeue(settings.source_queue_url),
    dead_letters=dead_letters,
    max_wait_seconds=settings.session_wait_max_seconds,
    base_delay_seconds=settings.session_wait_base_seconds,
)
late_captures = LateCaptures(
    objects=objects,
    idempotency=IdempotencyRecords(settings.idempotency_table),
    audit=AuditTrail(settings.audit_table),
)
once = RunOnce(
    table_name=settings.idempotency_table,
    key_prefix=CAPTURE_KEY_PREFIX,  # fixed, so that erasure can recompute the record ids
    data_keyword="capture",
    event_key_jmespath="[bucket, key, versionId]",
)


def _deliver(capture: dict[str, str], identity: CaptureIdentity) -> dict[str, Any]:
    """Process one capture; only the outcome's codes are stored in the idempotency record.

    SessionNotRegistered and Jumio's transient errors propagate: the guard then deletes the
    in-progress record, so the retry is not blocked.
    """
    return captures.process(identity).to_record()


deliver_once = once.guard(_deliver)


def _correlate(identity: CaptureIdentity) -> None:
    """Correlation id = workflowExecutionId, when the key names one."""
    try:
        logger.set_correlation_id(parse_capture_key(identity.encoded_key).workflow_execution_id)
    except InvalidMessage:
        logger.set_correlation_id(None)


@observed.traced
def record_handler(record: SQSRecord) -> None:
    try:
        notification = parse_notification(record.body)
    except InvalidMessage as exc:
        park_invalid(
            record, exc, dead_letters=dead_letters, observed=observed, metric="CaptureEventInvalid"
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
        decision = session_wait.retry_or_park(
            body=record.body,
            attempt=delivery_of(record.raw_event).wait_attempt,
            produced_at=waiting.event_time.timestamp(),
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
    except SessionDeleted:
        outcome = _erase_late_capture(identity)
    logger.info(
        "capture processed",
        extra={
            **outcome,
            "versionId": identity.version_id,
            "keyDigest": key_digest(identity.key),
        },
    )
    return outcome


def _erase_late_capture(identity: CaptureIdentity) -> dict[str, Any]:
    """A capture of an erased session: every version of its key deleted, and audited."""
    workflow_execution_id = parse_capture_key(identity.encoded_key).workflow_execution_id
    report = late_captures.erase(identity, workflow_execution_id)
    metrics.count("LateCaptureErased")
    counts = vars(report.counts) if report is not None else {}
    return {"status": "ERASED", "reason": "SESSION_DELETED", **counts}


@observed.entrypoint()
def handler(event: dict, context: LambdaContext) -> dict:
    once.register_lambda_context(context)
    return process_batch(event, context, record_handler, failures)


cold_start_finished()  # last: the imported objects frozen, collection resumed
