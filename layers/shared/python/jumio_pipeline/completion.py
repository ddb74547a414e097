"""Sending the state machine's "all parts landed" signal exactly once.

Two events race: the last required part lands (add_part, upload_prepared_data) and the wait
state stores its task token (await_parts). Both call :func:`signal_if_complete`; the ledger's
conditional claim lets exactly one of them through, whichever comes second.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from jumio_pipeline.ledger import Ledger

# The wait already ended (token expiry, execution stopped or deleted): nothing left to signal.
_WAIT_IS_OVER = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})


def signal_if_complete(ledger: Ledger, stepfunctions: Any, workflow_execution_id: str) -> bool:
    """Send SendTaskSuccess if this caller wins the claim; True when it sent the signal."""
    task_token = ledger.claim_completion_signal(workflow_execution_id)
    if task_token is None:
        return False
    try:
        stepfunctions.send_task_success(
            taskToken=task_token,
            output=json.dumps(
                {"workflowExecutionId": workflow_execution_id, "allPartsLanded": True}
            ),
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _WAIT_IS_OVER:
            return False
        ledger.release_completion_claim(workflow_execution_id)
        raise
    return True
