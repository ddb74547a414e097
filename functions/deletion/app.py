"""deletion: erasure requests (SQS) and the daily retention run, at Jumio and in AWS.

Two triggers, one function:
- the retention-requests queue: each message is one request, erased completely (Eraser) and
  audited; an invalid or permanently refused request is parked in the DLQ at once with its
  reason and a FAILED audit record; a transient failure (Jumio 429/5xx, AWS throttling) is a
  batch item failure, so SQS delivers it again and the resumable steps finish the job;
- the daily schedule (``{"source": "retention-schedule"}``): the sessions registered more than
  RETENTION_DAYS ago are selected and filed on the same queue as SESSION requests, so each one
  gets the queue's retries, DLQ and audit like any other request.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from jumio_pipeline.audit import AuditOutcome, AuditTrail, ErasureReport
from jumio_pipeline.dead_letter import park_in_dlq
from jumio_pipeline.deletion import (
    CAPTURE_IDEMPOTENCY_KEY_PREFIX,
    RETENTION_SOURCE,
    DeletionRequest,
    parse_request,
    retention_request,
)
from jumio_pipeline.erasure import Eraser, ErasureRefused, TenantClientProvider
from jumio_pipeline.errors import InvalidMessage, JumioError, JumioPermanentError
from jumio_pipeline.jumio import CredentialsClient, JumioHttp, JumioSettings
from jumio_pipeline.ledger import Ledger

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)

SECRET_MAX_AGE_SECONDS = 300
RETENTION_DAYS = int(os.environ["RETENTION_DAYS"])
DLQ_URL = os.environ["RETENTION_REQUESTS_DLQ_URL"]
QUEUE_URL = os.environ["RETENTION_REQUESTS_QUEUE_URL"]
SECRET_ARN = os.environ["JUMIO_CREDENTIALS_SECRET_ARN"]

sqs = boto3.client("sqs")
audit = AuditTrail(boto3.resource("dynamodb").Table(os.environ["AUDIT_TABLE"]))
http = JumioHttp(JumioSettings.from_env())
eraser = Eraser(
    ledger=Ledger(os.environ["LEDGER_TABLE"]),
    s3=boto3.client("s3"),
    bucket=os.environ["CAPTURES_BUCKET"],
    idempotency_table=boto3.resource("dynamodb").Table(os.environ["IDEMPOTENCY_TABLE"]),
    stepfunctions=boto3.client("stepfunctions"),
    credentials=CredentialsClient(http),
    tenant=TenantClientProvider(
        lambda: parameters.get_secret(SECRET_ARN, transform="json", max_age=SECRET_MAX_AGE_SECONDS),
        http,
    ),
    capture_idempotency_prefixes=(CAPTURE_IDEMPOTENCY_KEY_PREFIX,),
)

PERMANENT = (InvalidMessage, ErasureRefused, JumioPermanentError)


def _parse(record: SQSRecord) -> DeletionRequest:
    try:
        body = json.loads(record.body)
    except json.JSONDecodeError:
        raise InvalidMessage("INVALID_JSON", "the message body is not JSON") from None
    return parse_request(body)


def _report_for_unparsed(record: SQSRecord) -> ErasureReport:
    """An audit subject for a request that failed validation: its id if it has a usable one."""
    try:
        body = json.loads(record.body)
        request_id = body.get("requestId") if isinstance(body, dict) else None
        scope = body.get("scope") if isinstance(body, dict) else None
    except json.JSONDecodeError:
        request_id, scope = None, None
    if not DeletionRequest.is_plain_id(request_id):
        request_id = f"invalid:{record.message_id}"
    return ErasureReport(
        requestId=str(request_id),
        scope=scope if scope in ("PART", "DOCUMENT_PAGES", "SESSION", "ACCOUNT") else "UNKNOWN",
    )


def _reason(exc: Exception) -> str:
    """The reason code kept with the DLQ copy and the audit record."""
    if isinstance(exc, (InvalidMessage, ErasureRefused)):
        return exc.reason
    return type(exc).__name__


def _park(record: SQSRecord, report: ErasureReport, exc: Exception, started_at: float) -> None:
    reason = _reason(exc)
    detail = str(exc)
    logger.warning("erasure request refused", extra={"reason": reason, "detail": detail})
    metrics.add_metric(name="ErasureFailed", unit=MetricUnit.Count, value=1)
    audit.record(
        report,
        AuditOutcome.FAILED,
        started_at=started_at,
        reason=reason,
        detail=detail,
        source_message_id=record.message_id,
    )
    park_in_dlq(
        sqs,
        DLQ_URL,
        body=record.body,
        reason=reason,
        message=detail,
        source_message_id=record.message_id,
        field=getattr(exc, "field", ""),
    )


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    started_at = time.time()
    try:
        request = _parse(record)
    except InvalidMessage as exc:
        _park(record, _report_for_unparsed(record), exc, started_at)
        return
    logger.set_correlation_id(request.requestId)
    try:
        report = eraser.erase(request)
    except PERMANENT as exc:
        _park(record, _subject(request), exc, started_at)
        return
    except Exception as exc:
        # Transient (Jumio 429/5xx, AWS throttling, ...): recorded, then retried by SQS.
        reason = type(exc).__name__
        detail = str(exc) if isinstance(exc, JumioError) else reason
        audit.record(
            _subject(request),
            AuditOutcome.RETRYING,
            started_at=started_at,
            reason=reason,
            detail=detail,
            source_message_id=record.message_id,
        )
        raise
    outcome = AuditOutcome.COMPLETED if report.did_anything else AuditOutcome.NO_OP
    audit.record(report, outcome, started_at=started_at, source_message_id=record.message_id)
    metrics.add_metric(name=f"Erasure{outcome.value.title()}", unit=MetricUnit.Count, value=1)
    logger.info(
        "erasure request done",
        extra={"outcome": outcome.value, "scope": report.scope, **vars(report.counts)},
    )


def _subject(request: DeletionRequest) -> ErasureReport:
    """The request's ids for an audit record written before (or without) a full report."""
    return ErasureReport(
        requestId=request.requestId,
        scope=request.scope.value,
        accountId=request.account_id,
        workflowExecutionIds=[request.workflow_execution_id]
        if request.workflow_execution_id
        else [],
        credentialId=request.credential_id,
        classifier=request.classifier,
        requestedBy=request.requestedBy,
    )


def file_retention_requests(now: float) -> dict[str, Any]:
    """Select the sessions past the retention period and file one SESSION request each."""
    day = datetime.fromtimestamp(now, UTC).date().isoformat()
    selected = eraser.sessions_past_retention(RETENTION_DAYS, now)
    for start in range(0, len(selected), 10):
        batch = selected[start : start + 10]
        entries = [
            {
                "Id": str(i),
                "MessageBody": retention_request(wf, day).model_dump_json(exclude_none=True),
            }
            for i, wf in enumerate(batch)
        ]
        response = sqs.send_message_batch(QueueUrl=QUEUE_URL, Entries=entries)
        if response.get("Failed"):
            raise RuntimeError(f"{len(response['Failed'])} retention requests were not queued")
    metrics.add_metric(name="RetentionSessionsSelected", unit=MetricUnit.Count, value=len(selected))
    logger.info("retention run", extra={"selected": len(selected), "retentionDays": RETENTION_DAYS})
    return {"selected": len(selected), "retentionDays": RETENTION_DAYS}


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    if isinstance(event, dict) and event.get("source") == RETENTION_SOURCE:
        return file_retention_requests(time.time())
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
