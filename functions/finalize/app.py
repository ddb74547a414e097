"""finalize: the Finalize step of the session state machine; PUT on the workflow execution.

The Jumio client is built with JUMIO_MAX_ATTEMPTS=1 for this function (template.yaml): the
state machine's Retry owns the retries of finalize, so each attempt and its error name are
visible in the execution history. Errors leave under their class names, which the Retry and
Catch of statemachine/session.asl.json match.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from jumio_pipeline.adapters.jumio import CredentialsClient, JumioHttp, JumioSettings
from jumio_pipeline.adapters.jumio.urls import workflow_execution_href
from jumio_pipeline.adapters.ledger import Ledger
from jumio_pipeline.domain.task_input import workflow_execution_id_of
from jumio_pipeline.handlers.observability import observability
from jumio_pipeline.handlers.settings import FunctionSettings
from jumio_pipeline.services.finalization import FinalizationService

settings = FunctionSettings.from_env()
observed = observability(settings)
logger, metrics = observed.logger, observed.metrics

jumio_settings = JumioSettings.from_env()
finalization = FinalizationService(
    ledger=Ledger(settings.ledger_table),
    jumio=CredentialsClient(JumioHttp(jumio_settings)),
    # Only for an account response without api.workflowExecution.
    build_href=lambda account_id, wf_id: workflow_execution_href(jumio_settings, account_id, wf_id),
)


@observed.entrypoint(correlation_id_path="workflowExecutionId")
def handler(event: dict, context: LambdaContext) -> dict:
    """Finalize once; returns {workflowExecutionId, finalizedAt} (no token)."""
    result = finalization.finalize(workflow_execution_id_of(event))
    metrics.count("FinalizeFoundAlreadyDone" if result.already_finalized else "SessionFinalized")
    logger.info("session finalized", extra={"alreadyFinalized": result.already_finalized})
    return result.to_output()
