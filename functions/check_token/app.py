"""check_token: after WaitForAllParts timed out, is the session's Jumio token still valid?

The wait's timeout is the token's life when the session was registered; a newer account
response for the same execution may have replaced the tokens since. Then the state machine
waits again for the time now left, instead of ending a session whose token is still good.
"""

from __future__ import annotations

# First: the garbage collector pauses until cold_start_finished() below.
from jumio_pipeline.handlers.cold_start import cold_start_finished

from aws_lambda_powertools.utilities.typing import LambdaContext

from jumio_pipeline.adapters.ledger import Ledger
from jumio_pipeline.domain.task_input import workflow_execution_id_of
from jumio_pipeline.handlers.observability import observability
from jumio_pipeline.handlers.settings import FunctionSettings
from jumio_pipeline.services.session_tasks import SessionTasks

settings = FunctionSettings.from_env()
observed = observability(settings)
logger, metrics = observed.logger, observed.metrics

ledger = Ledger(settings.ledger_table)
tasks = SessionTasks(ledger=ledger)


@observed.entrypoint(correlation_id_path="workflowExecutionId")
def handler(event: dict, context: LambdaContext) -> dict:
    """Returns {workflowExecutionId, secondsUntilTokenExpiry}: 0 means expired (ids only)."""
    workflow_execution_id = workflow_execution_id_of(event)
    seconds = tasks.seconds_until_token_expiry(workflow_execution_id)
    renewed = seconds > 0
    metrics.count("TokenRenewedWhileWaiting" if renewed else "TokenExpiredWhileWaiting")
    logger.info("token checked after the wait timed out", extra={"secondsLeft": seconds})
    return {"workflowExecutionId": workflow_execution_id, "secondsUntilTokenExpiry": seconds}


cold_start_finished()  # last: the imported objects frozen, collection resumed
