"""await_parts: the WaitForAllParts step (lambda:invoke.waitForTaskToken) of the session.

It parks the task token in the ledger and returns at once; the execution then waits until
someone sends the task success. If every required part landed before the wait state was
reached, nobody else will, so this function signals itself. Either way the ledger's
conditional claim lets exactly one signal through.
"""

from __future__ import annotations

import os

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from jumio_pipeline.ledger import Ledger
from jumio_pipeline.session_tasks import await_parts, task_token_of, workflow_execution_id_of

logger = Logger()
tracer = Tracer()
metrics = Metrics()

ledger = Ledger(os.environ["LEDGER_TABLE"])
stepfunctions = boto3.client("stepfunctions")


@logger.inject_lambda_context(
    log_event=False, clear_state=True, correlation_id_path="workflowExecutionId"
)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    """Store the token, then complete if the parts were first; the output is ids only."""
    workflow_execution_id = workflow_execution_id_of(event)
    signalled = await_parts(ledger, stepfunctions, workflow_execution_id, task_token_of(event))
    metrics.add_metric(name="WaitForPartsStarted", unit=MetricUnit.Count, value=1)
    if signalled:
        metrics.add_metric(name="CompletionSignalledByWait", unit=MetricUnit.Count, value=1)
    logger.info("waiting for parts", extra={"signalledAtOnce": signalled})
    return {"workflowExecutionId": workflow_execution_id, "signalledAtOnce": signalled}
