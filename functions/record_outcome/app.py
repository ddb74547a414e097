"""record_outcome: the Record* steps; writes how a session ended (and why) in the ledger.

An EXPIRED session's end is also published as "Verification Completed" (verdict EXPIRED).

A separate step rather than part of Finalize so that the expired and failed paths, which
never reach Finalize, end in the ledger too, and so that operators see the outcome as a state.
"""

from __future__ import annotations

# First: the garbage collector pauses until cold_start_finished() below.
from jumio_pipeline.handlers.cold_start import cold_start_finished

from aws_lambda_powertools.utilities.typing import LambdaContext

from jumio_pipeline.adapters.ledger import Ledger
from jumio_pipeline.adapters.verdict_events import EventBridgeVerdicts
from jumio_pipeline.domain.session_state import SessionStatus
from jumio_pipeline.domain.task_input import outcome_of, workflow_execution_id_of
from jumio_pipeline.handlers.observability import observability
from jumio_pipeline.handlers.settings import VerdictEventSettings
from jumio_pipeline.services.session_tasks import SessionTasks
from jumio_pipeline.services.verdict import VerdictPublisher

settings = VerdictEventSettings.from_env()
observed = observability(settings)
logger, metrics = observed.logger, observed.metrics

ledger = Ledger(settings.ledger_table)
tasks = SessionTasks(ledger=ledger)
# An expired session is a verdict too: subscribers learn that it ended without one.
publisher = VerdictPublisher(ledger=ledger, events=EventBridgeVerdicts(settings.verdict_bus_name))


@observed.entrypoint(correlation_id_path="workflowExecutionId")
def handler(event: dict, context: LambdaContext) -> dict:
    """Record FINALIZED, EXPIRED or FAILED (with the error name); returns ids only."""
    workflow_execution_id = workflow_execution_id_of(event)
    outcome, error = outcome_of(event)
    recorded = tasks.record_outcome(workflow_execution_id, outcome, error)
    metrics.count(
        f"SessionOutcome{outcome.value.title()}" if recorded else "OutcomeOfErasedSession"
    )
    logger.info(
        "session outcome recorded" if recorded else "session was erased; outcome not recorded",
        extra={"outcome": outcome.value, "error": error},
    )
    published = outcome is SessionStatus.EXPIRED and publisher.expired(workflow_execution_id)
    return {
        "workflowExecutionId": workflow_execution_id,
        "outcome": outcome.value,
        "recorded": recorded,
        "published": published,
    }


cold_start_finished()  # last: the imported objects frozen, collection resumed
