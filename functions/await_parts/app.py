"""await_parts: the WaitForAllParts step (lambda:invoke.waitForTaskToken) of the session.

It parks the task token in the ledger and returns at once; the execution then waits until
someone sends the task success. If every required part landed before the wait state was
reached, nobody else will, so this function signals itself. Either way the ledger's
conditional claim lets exactly one signal through (services/completion.py).
"""

from __future__ import annotations

# First: the garbage collector pauses until cold_start_finished() below.
from jumio_pipeline.handlers.cold_start import cold_start_finished

from aws_lambda_powertools.utilities.typing import LambdaContext

from jumio_pipeline.adapters.ledger import Ledger
from jumio_pipeline.adapters.step_functions import StepFunctions
from jumio_pipeline.domain.task_input import task_token_of, workflow_execution_id_of
from jumio_pipeline.handlers.observability import observability
from jumio_pipeline.handlers.settings import FunctionSettings
from jumio_pipeline.services.completion import CompletionSignal
from jumio_pipeline.services.session_tasks import SessionTasks

settings = FunctionSettings.from_env()
observed = observability(settings)
logger, metrics = observed.logger, observed.metrics

ledger = Ledger(settings.ledger_table)
tasks = SessionTasks(
    ledger=ledger,
    signal_completion=CompletionSignal(ledger=ledger, executions=StepFunctions()),
)


@observed.entrypoint(correlation_id_path="workflowExecutionId")
def handler(event: dict, context: LambdaContext) -> dict:
    """Store the token, then complete if the parts were first; the output is ids only."""
    workflow_execution_id = workflow_execution_id_of(event)
    signalled = tasks.await_parts(workflow_execution_id, task_token_of(event))
    metrics.count("WaitForPartsStarted")
    if signalled:
        metrics.count("CompletionSignalledByWait")
    logger.info("waiting for parts", extra={"signalledAtOnce": signalled})
    return {"workflowExecutionId": workflow_execution_id, "signalledAtOnce": signalled}


cold_start_finished()  # last: the imported objects frozen, collection resumed
