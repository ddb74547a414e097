"""upload_prepared_data: personal data on the prepared-data queue becomes the PREPARED_DATA part.

Thin handler: each SQS record goes to ``PreparedDataService`` (validation, one upload per
(workflowExecutionId, credentialId, keyed fingerprint of the data), ledger, completion signal,
DLQ), and the batch answers with its partial failures, so one bad record never fails its neighbours.

This is the most sensitive data of the project: the event is never logged (log_event off),
traces keep no responses, and every log line and metric below is built from ids and codes.

The fingerprint's key (PREPARED_DATA_HASH_KEY_ARN) is read through Powertools parameters,
cached for five minutes, when a record needs it and never at import: a cold start succeeds
while Secrets Manager is unreachable, and the records that need the key fail and retry.
"""

from __future__ import annotations

import os

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from jumio_pipeline.completion import signal_if_complete
from jumio_pipeline.fingerprint_key import FingerprintKey
from jumio_pipeline.jumio import CredentialsClient, JumioHttp, JumioSettings
from jumio_pipeline.ledger import Ledger
from jumio_pipeline.prepared_data_service import Outcome, OutcomeStatus, PreparedDataService

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "upload_prepared_data")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "JumioCapturePipeline")
HASH_KEY_ARN = os.environ["PREPARED_DATA_HASH_KEY_ARN"]
HASH_KEY_MAX_AGE_SECONDS = 300
logger = Logger()
tracer = Tracer()

sqs = boto3.client("sqs")
stepfunctions = boto3.client("stepfunctions")
ledger = Ledger(os.environ["LEDGER_TABLE"])
service = PreparedDataService(
    ledger=ledger,
    credentials=CredentialsClient(JumioHttp(JumioSettings.from_env())),
    sqs=sqs,
    dlq_url=os.environ["PREPARED_DATA_DLQ_URL"],
    signal_completion=lambda workflow_id: signal_if_complete(ledger, stepfunctions, workflow_id),
    persistence_store=DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"]),
    idempotency_config=IdempotencyConfig(
        raise_on_no_idempotency_key=True, expires_after_seconds=86400
    ),
    fingerprint_key=FingerprintKey(
        lambda: parameters.get_secret(HASH_KEY_ARN, max_age=HASH_KEY_MAX_AGE_SECONDS)
    ),
)

_METRIC = {
    OutcomeStatus.UPLOADED: "PreparedDataUploaded",
    OutcomeStatus.DUPLICATE: "PreparedDataDuplicate",
    OutcomeStatus.PARKED: "PreparedDataParked",
    OutcomeStatus.DISCARDED: "PreparedDataDiscarded",
}


def _count(outcome: Outcome) -> None:
    """One EMF metric per outcome; a parked one carries its reason code as a dimension."""
    dimensions = {"service": SERVICE}
    if outcome.reason:
        dimensions["reason"] = outcome.reason
    with single_metric(
        name=_METRIC[outcome.status],
        unit=MetricUnit.Count,
        value=1,
        namespace=NAMESPACE,
        default_dimensions=dimensions,
    ):
        pass


@tracer.capture_method(capture_response=False)
def record_handler(record: SQSRecord) -> None:
    """Deliver one record; a transient failure propagates and becomes a batch item failure."""
    logger.set_correlation_id(None)
    try:
        outcome = service.process(record.body, record.message_id)
    except Exception as exc:
        # Only the class name: retried by SQS, then redriven to the DLQ after maxReceiveCount.
        logger.warning(
            "prepared data will be retried",
            extra={"error": type(exc).__name__, "messageId": record.message_id},
        )
        raise
    logger.set_correlation_id(outcome.workflow_execution_id)
    if outcome.status is OutcomeStatus.PARKED:
        logger.warning("prepared data parked in the DLQ", extra=outcome.log_fields())
    elif outcome.status is OutcomeStatus.DISCARDED:
        logger.warning("prepared data for an erased session discarded", extra=outcome.log_fields())
    else:
        logger.info("prepared data delivered", extra=outcome.log_fields())
    _count(outcome)
    logger.set_correlation_id(None)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict, context: LambdaContext) -> dict:
    service.idempotency_config.register_lambda_context(context)
    # One processor per invocation: it holds the batch's state (the local cloud runs
    # concurrent invocations of one function as threads of one process).
    processor = BatchProcessor(event_type=EventType.SQS)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
