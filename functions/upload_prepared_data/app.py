"""upload_prepared_data: personal data on the prepared-data queue becomes the PREPARED_DATA part.

Thin handler: each SQS record goes to ``PreparedDataService`` (validation, one upload per
(workflowExecutionId, credentialId, keyed fingerprint of the data), ledger, completion signal,
DLQ), and the batch answers with its partial failures, so one bad record never fails its neighbours.

This is the most sensitive data of the project: the event is never logged, traces keep no
responses, and every log line and metric below is built from ids and codes.

The fingerprint's key (PREPARED_DATA_HASH_KEY_ARN) is read through Powertools parameters,
cached for five minutes, when a record needs it and never at import: a cold start succeeds
while Secrets Manager is unreachable, and the records that need the key fail and retry.
"""

from __future__ import annotations

# First: the garbage collector pauses until cold_start_finished() below.
from jumio_pipeline.handlers.cold_start import cold_start_finished

# Imported before anything imports pydantic: Powertools' batch module then skips loading its
# parser models, which this handler never uses (tens of ms of every cold start).
import aws_lambda_powertools.utilities.batch  # noqa: F401
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from jumio_pipeline.adapters.idempotency import PREPARED_DATA_KEY_PREFIX, RunOnce
from jumio_pipeline.adapters.jumio import CredentialsClient, JumioHttp, JumioSettings
from jumio_pipeline.adapters.jumio.retrieval import JumioRetrieval
from jumio_pipeline.adapters.ledger import Ledger
from jumio_pipeline.adapters.queues import DeadLetterQueue, DelayedRequeue, delivery_of
from jumio_pipeline.adapters.secrets import FingerprintKey, TenantClientProvider, cached_secret
from jumio_pipeline.adapters.step_functions import StepFunctions
from jumio_pipeline.domain.errors import SessionNotRegistered
from jumio_pipeline.handlers.observability import observability
from jumio_pipeline.handlers.settings import PreparedDataSettings
from jumio_pipeline.handlers.sqs_batch import failure_handling, process_batch
from jumio_pipeline.services.completion import CompletionSignal
from jumio_pipeline.services.prepared_data import Outcome, OutcomeStatus, PreparedDataService
from jumio_pipeline.services.refusals import RefusalExplainer
from jumio_pipeline.services.session_wait import SessionWait

settings = PreparedDataSettings.from_env()
observed = observability(settings)
logger, metrics = observed.logger, observed.metrics

ledger = Ledger(settings.ledger_table)
dead_letters = DeadLetterQueue(settings.dead_letter_queue_url)
failures = failure_handling(settings, observed, dead_letters)
session_wait = SessionWait(
    requeue=DelayedRequeue(settings.source_queue_url),
    dead_letters=dead_letters,
    max_wait_seconds=settings.session_wait_max_seconds,
    base_delay_seconds=settings.session_wait_base_seconds,
)
once = RunOnce(
    table_name=settings.idempotency_table,
    key_prefix=PREPARED_DATA_KEY_PREFIX,  # fixed, so that erasure can recompute the record ids
    data_keyword="upload",
)
http = JumioHttp(JumioSettings.from_env())
service = PreparedDataService(
    ledger=ledger,
    jumio=CredentialsClient(http),
    dead_letters=dead_letters,
    signal_completion=CompletionSignal(ledger=ledger, executions=StepFunctions()),
    once=once,
    fingerprint_key=FingerprintKey(cached_secret(settings.hash_key_arn)),
    # A final refusal is named by Jumio's workflow status, read with the tenant's token.
    refusals=RefusalExplainer(
        JumioRetrieval(
            TenantClientProvider(cached_secret(settings.tenant_secret_arn, json_value=True), http)
        )
    ),
)

_METRIC = {
    OutcomeStatus.UPLOADED: "PreparedDataUploaded",
    OutcomeStatus.DUPLICATE: "PreparedDataDuplicate",
    OutcomeStatus.PARKED: "PreparedDataParked",
    OutcomeStatus.DISCARDED: "PreparedDataDiscarded",
}


def _count(outcome: Outcome) -> None:
    """One metric per outcome; a parked one carries its reason code as a dimension."""
    dimensions = {"reason": outcome.reason} if outcome.reason else {}
    metrics.count(_METRIC[outcome.status], **dimensions)


@observed.traced
def record_handler(record: SQSRecord) -> None:
    """Deliver one record; a failure follows the failure policy (handlers/failures.py)."""
    observed.correlate_with_message(record.body)
    try:
        outcome = service.process(record.body, record.message_id)
    except SessionNotRegistered:
        _wait_for_session(record)
        return
    logger.set_correlation_id(outcome.workflow_execution_id)
    if outcome.status is OutcomeStatus.PARKED:
        logger.warning("prepared data parked in the DLQ", extra=outcome.log_fields())
    elif outcome.status is OutcomeStatus.DISCARDED:
        logger.warning("prepared data for an erased session discarded", extra=outcome.log_fields())
    else:
        logger.info("prepared data delivered", extra=outcome.log_fields())
    _count(outcome)
    logger.set_correlation_id(None)


def _wait_for_session(record: SQSRecord) -> None:
    """The data came before its registration: requeued with a growing delay, bounded."""
    delivery = delivery_of(record.raw_event)
    decision = session_wait.retry_or_park(
        body=record.body,
        attempt=delivery.wait_attempt,
        produced_at=delivery.first_seen_at,
        message_id=record.message_id,
    )
    logger.info(
        "prepared data waits for its session",
        extra={
            "parked": decision.parked,
            "attempt": decision.attempt,
            "delaySeconds": decision.delay_seconds,
        },
    )
    metrics.count("PreparedDataParked" if decision.parked else "PreparedDataWaitingForSession")


@observed.entrypoint()
def handler(event: dict, context: LambdaContext) -> dict:
    once.register_lambda_context(context)
    return process_batch(event, context, record_handler, failures)


cold_start_finished()  # last: the imported objects frozen, collection resumed
