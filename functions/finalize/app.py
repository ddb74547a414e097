"""finalize: the Finalize and ReconcileFinalize steps of the session state machine.

Finalize sends the PUT on the workflow execution; the Jumio client is built with
JUMIO_MAX_ATTEMPTS=1 for this function (template.yaml), so the state machine's Retry owns the
retries and each attempt shows in the execution history. When an answer is uncertain the
service reads Jumio's workflow status with the tenant's token (services/finalization.py).
ReconcileFinalize (``{"reconcile": true}``) runs after Finalize timed out: it only reads the
status. Either step, once Jumio has the finalize, records FINALIZED in the ledger and returns
the first wait for the verdict (Jumio's poll schedule): no separate states for those. Errors
leave under their class names, which statemachine/session.asl.json matches.
"""

from __future__ import annotations

# First: the garbage collector pauses until cold_start_finished() below.
from jumio_pipeline.handlers.cold_start import cold_start_finished

from aws_lambda_powertools.utilities.typing import LambdaContext

from jumio_pipeline.adapters.jumio import CredentialsClient, JumioHttp, JumioSettings
from jumio_pipeline.adapters.jumio.retrieval import JumioRetrieval
from jumio_pipeline.adapters.jumio.urls import workflow_execution_href
from jumio_pipeline.adapters.ledger import Ledger
from jumio_pipeline.adapters.secrets import TenantClientProvider, cached_secret
from jumio_pipeline.domain.task_input import workflow_execution_id_of
from jumio_pipeline.handlers.observability import observability
from jumio_pipeline.handlers.settings import FinalizeSettings
from jumio_pipeline.services.finalization import FinalizationService, FinalizeResult

settings = FinalizeSettings.from_env()
observed = observability(settings)
logger, metrics = observed.logger, observed.metrics

jumio_settings = JumioSettings.from_env()
http = JumioHttp(jumio_settings)
finalization = FinalizationService(
    ledger=Ledger(settings.ledger_table),
    jumio=CredentialsClient(http),
    status=JumioRetrieval(
        TenantClientProvider(cached_secret(settings.tenant_secret_arn, json_value=True), http)
    ),
    # Only for an account response without api.workflowExecution.
    build_href=lambda account_id, wf_id: workflow_execution_href(jumio_settings, account_id, wf_id),
    schedule=settings.schedule,  # the first wait for the verdict is planned here
)


@observed.entrypoint(correlation_id_path="workflowExecutionId")
def handler(event: dict, context: LambdaContext) -> dict:
    """Finalize once, or (``reconcile``) tell whether Jumio has it; ids only, never a token."""
    workflow_execution_id = workflow_execution_id_of(event)
    if event.get("reconcile") is True:
        reconciled = finalization.reconcile(workflow_execution_id)
        finalized = reconciled.finalized is not None
        metrics.count("FinalizeReconciled", finalized=str(finalized).lower())
        logger.info("finalize reconciled by Jumio's status", extra={"finalized": finalized})
        if reconciled.finalized is not None:
            _count_outcome(reconciled.finalized)
        return reconciled.to_output()
    result = finalization.finalize(workflow_execution_id)
    metrics.count("FinalizeFoundAlreadyDone" if result.already_finalized else "SessionFinalized")
    logger.info("session finalized", extra={"alreadyFinalized": result.already_finalized})
    _count_outcome(result)
    return result.to_output()


def _count_outcome(result: FinalizeResult) -> None:
    """The outcome metric, counted by the invocation that wrote FINALIZED in the ledger."""
    if result.recorded is not None:
        metrics.count("SessionOutcomeFinalized" if result.recorded else "OutcomeOfErasedSession")


cold_start_finished()  # last: the imported objects frozen, collection resumed
