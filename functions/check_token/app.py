"""check_token: after WaitForAllParts timed out, is the session's Jumio token still valid?

The wait's timeout is the token's life when the session was registered; a newer account
response for the same execution may have replaced the tokens since. Then the state machine
waits again for the time now left, instead of ending a session whose token is still good.
"""

from __future__ import annotations

import os
import time

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from jumio_pipeline.ledger import Ledger
from jumio_pipeline.session_tasks import seconds_until_token_expiry, workflow_execution_id_of

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
    """Returns {workflowExecutionId, secondsUntilTokenExpiry}: 0 means expired (ids only)."""
    workflow_execution_id = workflow_execution_id_of(event)
    seconds = seconds_until_token_expiry(ledger, workflow_execution_id, time.time())
    renewed = seconds > 0
    metrics.add_metric(
        name="TokenRenewedWhileWaiting" if renewed else "TokenExpiredWhileWaiting",
        unit=MetricUnit.Count,
        value=1,
    )
    logger.info("token checked after the wait timed out", extra={"secondsLeft": seconds})
    return {"workflowExecutionId": workflow_execution_id, "secondsUntilTokenExpiry": seconds}
