"""await_verdict: the WaitForVerdict step (lambda:invoke.waitForTaskToken) after Finalize.

It parks the task token in the ledger and returns at once; Jumio's callback then wakes the
execution (functions/callback). If the callback came first (before the wait, or while a poll
ran), nobody else will send the signal, so this function sends it itself. The ledger's
conditional claim lets exactly one signal through (services/verdict.py). When no callback comes,
the wait times out on Jumio's poll schedule and PollVerdict reads the status instead.
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
from jumio_pipeline.services.verdict import VerdictSignal, VerdictWait

settings = FunctionSettings.from_env()
observed = observability(settings)
logger, metrics = observed.logger, observed.metrics

ledger = Ledger(settings.ledger_table)
wait = VerdictWait(ledger=ledger, signal=VerdictSignal(ledger=ledger, executions=StepFunctions()))


@observed.entrypoint(correlation_id_path="workflowExecutionId")
def handler(event: dict, context: LambdaContext) -> dict:
    """Store the token, then wake at once if the callback was first; ids only."""
    workflow_execution_id = workflow_execution_id_of(event)
    signalled = wait.await_verdict(workflow_execution_id, task_token_of(event))
    metrics.count("WaitForVerdictStarted")
    if signalled:
        metrics.count("VerdictSignalledByWait")
    logger.info("waiting for the verdict", extra={"signalledAtOnce": signalled})
    return {"workflowExecutionId": workflow_execution_id, "signalledAtOnce": signalled}


cold_start_finished()  # last: the imported objects frozen, collection resumed
