"""deletion: erasure requests (SQS) and the daily retention run, at Jumio and in AWS.

Two triggers, one function:
- the retention-requests queue: each message is one request, erased completely and audited
  (services/erasure_requests.py); an invalid or permanently refused request is parked in the
  DLQ at once with its reason and a FAILED audit record; a transient failure (Jumio 429/5xx,
  AWS throttling) is a batch item failure, so SQS delivers it again and the resumable steps
  finish the job;
- the daily schedule (``{"source": "retention-schedule"}``): the sessions registered more than
  RETENTION_DAYS ago are filed on the same queue as SESSION requests.
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
from jumio_pipeline.adapters.idempotency import (
    ERASURE_REQUEST_KEY_PREFIX,
    ONE_DAY_SECONDS,
    IdempotencyRecords,
    RunOnce,
)
from jumio_pipeline.adapters.jumio import CredentialsClient, JumioHttp, JumioSettings
from jumio_pipeline.adapters.jumio.retrieval import JumioRetrieval
from jumio_pipeline.adapters.ledger import Ledger
from jumio_pipeline.adapters.queues import DeadLetterQueue, DeadLetterSweeper, MessageQueue
from jumio_pipeline.adapters.secrets import TenantClientProvider, cached_secret
from jumio_pipeline.adapters.step_functions import StepFunctions
from jumio_pipeline.domain.erasure_report import AuditOutcome
from jumio_pipeline.domain.erasure_request import RETENTION_SOURCE
from jumio_pipeline.handlers.observability import observability
from jumio_pipeline.handlers.settings import DeletionSettings
from jumio_pipeline.handlers.sqs_batch import failure_handling, process_batch
from jumio_pipeline.services.erasure import Eraser
from jumio_pipeline.services.erasure_requests import ErasureRequests, RetentionRun

settings = DeletionSettings.from_env()
observed = observability(settings)
logger, metrics = observed.logger, observed.metrics

http = JumioHttp(JumioSettings.from_env())
tenant = TenantClientProvider(cached_secret(settings.tenant_secret_arn, json_value=True), http)
eraser = Eraser(
    ledger=Ledger(settings.ledger_table),
    objects=S3ObjectStore(),
    bucket=settings.captures_bucket,
    idempotency=IdempotencyRecords(settings.idempotency_table),
    executions=StepFunctions(),
    parts_at_jumio=CredentialsClient(http),
    tenant=tenant,
    dead_letters=DeadLetterSweeper(settings.dead_letter_queues),
    status=JumioRetrieval(tenant),
)
dead_letters = DeadLetterQueue(settings.dead_letter_queue_url)
failures = failure_handling(settings, observed, dead_letters)
once = RunOnce(
    table_name=settings.idempotency_table,
    key_prefix=ERASURE_REQUEST_KEY_PREFIX,
    data_keyword="request_key",
    # Long enough for the concurrent copies; later replays are answered from the audit trail.
    expires_after_seconds=ONE_DAY_SECONDS,
)
requests = ErasureRequests(
    eraser=eraser,
    audit=AuditTrail(settings.audit_table),
    dead_letters=dead_letters,
    once=once,
)
retention = RetentionRun(
    eraser=eraser,
    requests=MessageQueue(settings.source_queue_url),
    retention_days=settings.retention_days,
)


@observed.traced
def record_handler(record: SQSRecord) -> None:
    # Correlation id = the session's workflowExecutionId (none for an ACCOUNT request); the
    # request's own (checked) id is on the lines that report it, as requestId.
    logger.remove_keys(["requestId"])
    observed.correlate_with_message(record.body)
    result = requests.handle(record.body, record.message_id)
    logger.append_keys(requestId=result.request_id)
    if result.replayed:
        logger.info(
            "erasure request replayed: answered from its audit record",
            extra={"outcome": result.outcome.value, "scope": result.scope},
        )
        metrics.count("ErasureReplayed")
        return
    if result.outcome is AuditOutcome.FAILED:
        logger.warning(
            "erasure request refused", extra={"reason": result.reason, "detail": result.detail}
        )
        metrics.count("ErasureFailed")
        return
    metrics.count(f"Erasure{result.outcome.value.title()}")
    logger.info(
        "erasure request done",
        extra={"outcome": result.outcome.value, "scope": result.scope, **result.counts},
    )


def file_retention_requests() -> dict[str, Any]:
    """The daily run: one SESSION request per session past the retention period."""
    result = retention.file()
    metrics.count("RetentionSessionsSelected", value=result.selected)
    logger.info(
        "retention run",
        extra={"selected": result.selected, "retentionDays": result.retention_days},
    )
    return {"selected": result.selected, "retentionDays": result.retention_days}


@observed.entrypoint()
def handler(event: dict, context: LambdaContext) -> dict:
    once.register_lambda_context(context)
    if isinstance(event, dict) and event.get("source") == RETENTION_SOURCE:
        return file_retention_requests()
    return process_batch(event, context, record_handler, failures)


cold_start_finished()  # last: the imported objects frozen, collection resumed
