"""register_session: a Jumio account response on the `sessions` queue becomes a ledger session
and one state machine execution, named by its workflowExecutionId.

Registering the same execution twice is a no-op (the ledger's conditional put, and Step
Functions refuses a second execution of the same name); a newer response for the same
execution replaces its tokens. An invalid message is parked in the DLQ at once with its reason.
"""

from __future__ import annotations

import json
import os
import time

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from jumio_pipeline.completion import signal_if_complete
from jumio_pipeline.dead_letter import park_in_dlq
from jumio_pipeline.errors import InvalidMessage
from jumio_pipeline.ledger import Ledger, RegisterOutcome
from jumio_pipeline.session import Session, parse_registration

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)

ledger = Ledger(os.environ["LEDGER_TABLE"])
stepfunctions = boto3.client("stepfunctions")
sqs = boto3.client("sqs")
STATE_MACHINE_ARN = os.environ["STATE_MACHINE_ARN"]
DLQ_URL = os.environ["SESSIONS_DLQ_URL"]


def _parse(record: SQSRecord) -> Session:
    try:
        body = json.loads(record.body)
    except json.JSONDecodeError:
        raise InvalidMessage("INVALID_JSON", "the message body is not JSON") from None
    if not isinstance(body, dict):
        raise InvalidMessage("INVALID_REGISTRATION", "the message body is not a JSON object")
    return parse_registration(body)


def _start_execution(session: Session) -> str:
    """Start the session's execution, or find the one already started under its name."""
    name = session.workflow_execution_id
    execution_input = {
        "workflowExecutionId": session.workflow_execution_id,
        "accountId": session.account_id,
        "secondsUntilTokenExpiry": max(1, session.seconds_until_token_expiry(time.time())),
    }
    try:
        response = stepfunctions.start_execution(
            stateMachineArn=STATE_MACHINE_ARN, name=name, input=json.dumps(execution_input)
        )
        return response["executionArn"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
            raise
    machine_name = STATE_MACHINE_ARN.split(":stateMachine:", 1)[1]
    prefix = STATE_MACHINE_ARN.split(":stateMachine:", 1)[0]
    return f"{prefix}:execution:{machine_name}:{name}"


def _execution_not_started(workflow_execution_id: str) -> bool:
    """A repeated registration whose first attempt stopped between ledger and StartExecution."""
    current = ledger.get(workflow_execution_id)
    return current is not None and current.execution_arn is None


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    logger.set_correlation_id(None)  # never carry the previous record's id into this one
    try:
        session = _parse(record)
    except InvalidMessage as exc:
        logger.warning(
            "registration refused",
            extra={"reason": exc.reason, "field": exc.field, "detail": str(exc)},
        )
        metrics.add_metric(name="RegistrationRejected", unit=MetricUnit.Count, value=1)
        park_in_dlq(
            sqs,
            DLQ_URL,
            body=record.body,
            reason=exc.reason,
            message=str(exc),
            source_message_id=record.message_id,
            field=exc.field,
        )
        return
    logger.set_correlation_id(session.workflow_execution_id)
    outcome = ledger.register(session)
    # An ended or erased session (IGNORED_ENDED) never gets an execution again.
    resumable = outcome in (RegisterOutcome.DUPLICATE, RegisterOutcome.TOKENS_REPLACED)
    if outcome is RegisterOutcome.NEW or (
        resumable and _execution_not_started(session.workflow_execution_id)
    ):
        execution_arn = _start_execution(session)
        ledger.record_execution(session.workflow_execution_id, execution_arn)
    # One metric per outcome (SessionNew, SessionDuplicate, ...), so duplicates are visible too.
    metrics.add_metric(
        name=f"Session{outcome.value.title().replace('_', '')}", unit=MetricUnit.Count, value=1
    )
    if outcome is RegisterOutcome.TOKENS_REPLACED:
        # The wait may already be parked on a token; if every part landed, let it go on.
        signal_if_complete(ledger, stepfunctions, session.workflow_execution_id)
    logger.info(
        "session registered",
        extra={
            "outcome": outcome.value,
            "accountId": session.account_id,
            "requiredParts": len(session.required_parts),
        },
    )


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
