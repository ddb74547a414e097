"""poll_verdict: the PollVerdict step; Jumio's status on its schedule.

``{"workflowExecutionId", "round": n}`` reads the workflow status (poll n + 1) with the
tenant's token and says how long to wait before the next one, or that the schedule is spent
(ten polls, the last 940 s after finalize). The first wait, before any poll, is planned by the
finalize function. The output is the status and the plan: no token, no data.
"""

from __future__ import annotations

# First: the garbage collector pauses until cold_start_finished() below.
from jumio_pipeline.handlers.cold_start import cold_start_finished

from aws_lambda_powertools.utilities.typing import LambdaContext

from jumio_pipeline.adapters.jumio import JumioHttp, JumioSettings
from jumio_pipeline.adapters.jumio.retrieval import JumioRetrieval
from jumio_pipeline.adapters.ledger import Ledger
from jumio_pipeline.adapters.secrets import TenantClientProvider, cached_secret
from jumio_pipeline.domain.task_input import poll_round_of, workflow_execution_id_of
from jumio_pipeline.handlers.observability import observability
from jumio_pipeline.handlers.settings import VerdictPollSettings
from jumio_pipeline.services.verdict import VerdictPolling

settings = VerdictPollSettings.from_env()
observed = observability(settings)
logger, metrics = observed.logger, observed.metrics

http = JumioHttp(JumioSettings.from_env())
polling = VerdictPolling(
    ledger=Ledger(settings.ledger_table),
    status=JumioRetrieval(
        TenantClientProvider(cached_secret(settings.tenant_secret_arn, json_value=True), http)
    ),
    schedule=settings.schedule,
)


@observed.entrypoint(correlation_id_path="workflowExecutionId")
def handler(event: dict, context: LambdaContext) -> dict:
    """Poll once and plan the next wait; ids, the status and the plan."""
    workflow_execution_id = workflow_execution_id_of(event)
    result = polling.poll(workflow_execution_id, poll_round_of(event))
    metrics.count("VerdictPolled", status=result.status.value)
    output = result.to_output()
    logger.info("verdict poll", extra=output)
    return {"workflowExecutionId": workflow_execution_id, **output}


cold_start_finished()  # last: the imported objects frozen, collection resumed
