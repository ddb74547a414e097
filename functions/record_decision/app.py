"""record_decision: the RecordDecision step; Jumio's decision kept and published, once.

Reads the details of the PROCESSED execution with the tenant's token, keeps the decision
types and labels in the ledger (never the extracted data), and publishes "Verification
Completed" on the stack's event bus. A retry after a partial run finds the decision recorded
and sends only what is missing. The output is the verdict and labels, never data.
"""

from __future__ import annotations

# First: the garbage collector pauses until cold_start_finished() below.
from jumio_pipeline.handlers.cold_start import cold_start_finished

from aws_lambda_powertools.utilities.typing import LambdaContext

from jumio_pipeline.adapters.jumio import JumioHttp, JumioSettings
from jumio_pipeline.adapters.jumio.retrieval import JumioRetrieval
from jumio_pipeline.adapters.ledger import Ledger
from jumio_pipeline.adapters.secrets import TenantClientProvider, cached_secret
from jumio_pipeline.adapters.verdict_events import EventBridgeVerdicts
from jumio_pipeline.domain.task_input import workflow_execution_id_of
from jumio_pipeline.handlers.observability import observability
from jumio_pipeline.handlers.settings import DecisionSettings
from jumio_pipeline.services.verdict import Decisions, VerdictPublisher

settings = DecisionSettings.from_env()
observed = observability(settings)
logger, metrics = observed.logger, observed.metrics

http = JumioHttp(JumioSettings.from_env())
ledger = Ledger(settings.ledger_table)
decisions = Decisions(
    ledger=ledger,
    details=JumioRetrieval(
        TenantClientProvider(cached_secret(settings.tenant_secret_arn, json_value=True), http)
    ),
    publisher=VerdictPublisher(
        ledger=ledger, events=EventBridgeVerdicts(settings.verdict_bus_name)
    ),
)


@observed.entrypoint(correlation_id_path="workflowExecutionId")
def handler(event: dict, context: LambdaContext) -> dict:
    """Record and publish the decision; returns the verdict, decision type, label, source."""
    workflow_execution_id = workflow_execution_id_of(event)
    outcome = decisions.decide(workflow_execution_id)
    output = outcome.to_output()
    metrics.count("SessionDecided", verdict=output["verdict"], source=output["source"])
    logger.info("decision recorded", extra=output)
    return {"workflowExecutionId": workflow_execution_id, **output}


cold_start_finished()  # last: the imported objects frozen, collection resumed
