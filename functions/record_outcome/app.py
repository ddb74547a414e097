"""record_outcome: the Record* steps; writes how a session ended (and why) in the ledger.

A separate step rather than part of Finalize so that the expired and failed paths, which
never reach Finalize, end in the ledger too, and so that operators see the outcome as a state.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from jumio_pipeline.ledger import Ledger
from jumio_pipeline.session_tasks import outcome_of, record_outcome, workflow_execution_id_of

logger = Logger()
tracer = Tracer()
metrics = Metrics()

ledger = Ledger(os.environ["LEDGER_TABLE"])


@logger.inject_lambda_context(
    log_event=False, clear_state=True, correlation_id_path="workflowExecutionId"
)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    """Record FINALIZED, EXPIRED or FAILED (with the error name); returns ids only."""
    workflow_execution_id = workflow_execution_id_of(event)
    outcome, error = outcome_of(event)
    recorded = record_outcome(ledger, workflow_execution_id, outcome, error)
    metric = f"SessionOutcome{outcome.value.title()}" if recorded else "OutcomeOfErasedSession"
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    logger.info(
        "session outcome recorded" if recorded else "session was erased; outcome not recorded",
        extra={"outcome": outcome.value, "error": error},
    )
    return {
        "workflowExecutionId": workflow_execution_id,
        "outcome": outcome.value,
        "recorded": recorded,
    }
