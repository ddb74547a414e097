"""finalize: the Finalize step of the session state machine; PUT on the workflow execution.

The Jumio client is built with JUMIO_MAX_ATTEMPTS=1 for this function (template.yaml): the
state machine's Retry owns the retries of finalize, so each attempt and its error name are
visible in the execution history. Errors leave under their class names, which the Retry and
Catch of statemachine/session.asl.json match.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from jumio_pipeline.finalization import finalize_session
from jumio_pipeline.jumio import CredentialsClient, JumioHttp, JumioSettings
from jumio_pipeline.jumio.urls import workflow_execution_href
from jumio_pipeline.ledger import Ledger
from jumio_pipeline.session_tasks import workflow_execution_id_of

logger = Logger()
tracer = Tracer()
metrics = Metrics()

ledger = Ledger(os.environ["LEDGER_TABLE"])
settings = JumioSettings.from_env()
credentials = CredentialsClient(JumioHttp(settings))


def _href_from_region(account_id: str, workflow_execution_id: str) -> str:
    """Only for an account response without api.workflowExecution."""
    return workflow_execution_href(settings, account_id, workflow_execution_id)


@logger.inject_lambda_context(
    log_event=False, clear_state=True, correlation_id_path="workflowExecutionId"
)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    """Finalize once; returns {workflowExecutionId, finalizedAt} (no token)."""
    workflow_execution_id = workflow_execution_id_of(event)
    result = finalize_session(
        ledger, credentials, workflow_execution_id, build_href=_href_from_region
    )
    metric = "FinalizeFoundAlreadyDone" if result.already_finalized else "SessionFinalized"
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    logger.info("session finalized", extra={"alreadyFinalized": result.already_finalized})
    return result.to_output()
