"""The session state machine's small task steps: reading their input, waiting, recording.

Each Lambda task of statemachine/session.asl.json gets ids only from the execution; this module
checks that input (naming the field that is wrong, never echoing a value) and holds the two
steps that are too small for a module of their own: WaitForAllParts (store the task token,
then try to complete) and Record* (write how the session ended).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from botocore.exceptions import ClientError

from jumio_pipeline.completion import signal_if_complete
from jumio_pipeline.errors import InvalidMessage, PipelineError
from jumio_pipeline.ledger import Ledger, SessionStatus

RECORDABLE_OUTCOMES = frozenset(
    {SessionStatus.FINALIZED, SessionStatus.EXPIRED, SessionStatus.FAILED}
)
_MAX_ERROR_NAME = 128


class SessionNotWaiting(PipelineError):
    """The wait state started for a session that has ended or is unknown: nothing to wait for."""


def workflow_execution_id_of(event: Any) -> str:
    """The ``workflowExecutionId`` of a task input, in canonical lower-case UUID form."""
    if not isinstance(event, dict):
        raise InvalidMessage("INVALID_TASK_INPUT", "the task input is not a JSON object")
    value = event.get("workflowExecutionId")
    if not isinstance(value, str):
        raise InvalidMessage(
            "INVALID_TASK_INPUT",
            "workflowExecutionId is missing or not a string",
            field="workflowExecutionId",
        )
    try:
        return str(UUID(value))
    except ValueError:
        raise InvalidMessage(
            "INVALID_TASK_INPUT", "workflowExecutionId is not a UUID", field="workflowExecutionId"
        ) from None


def task_token_of(event: dict[str, Any]) -> str:
    """The Step Functions task token of a waitForTaskToken invocation."""
    token = event.get("taskToken")
    if not isinstance(token, str) or not token:
        raise InvalidMessage(
            "INVALID_TASK_INPUT", "taskToken is missing or empty", field="taskToken"
        )
    return token


def outcome_of(event: dict[str, Any]) -> tuple[SessionStatus, str | None]:
    """The outcome (FINALIZED, EXPIRED, FAILED) and the optional error name to record."""
    raw = event.get("outcome")
    try:
        outcome = SessionStatus(raw)
    except ValueError:
        outcome = None
    if outcome not in RECORDABLE_OUTCOMES:
        allowed = ", ".join(sorted(s.value for s in RECORDABLE_OUTCOMES))
        raise InvalidMessage(
            "INVALID_TASK_INPUT", f"outcome must be one of {allowed}", field="outcome"
        )
    error = event.get("error")
    if error is not None and (not isinstance(error, str) or len(error) > _MAX_ERROR_NAME):
        raise InvalidMessage(
            "INVALID_TASK_INPUT",
            f"error must be an error name of at most {_MAX_ERROR_NAME} characters",
            field="error",
        )
    return outcome, error or None


def await_parts(
    ledger: Ledger, stepfunctions: Any, workflow_execution_id: str, task_token: str
) -> bool:
    """Park the wait state's token in the ledger and complete at once if every part landed.

    Returns True when this call sent the completion signal itself (the parts were first).
    """
    if not ledger.store_task_token(workflow_execution_id, task_token):
        raise SessionNotWaiting(
            f"workflow execution {workflow_execution_id} is unknown or no longer accepts parts"
        )
    return signal_if_complete(ledger, stepfunctions, workflow_execution_id)


def seconds_until_token_expiry(ledger: Ledger, workflow_execution_id: str, now: float) -> int:
    """Seconds left on the session's Jumio token, as the ledger knows it now; 0 if it ended.

    The wait state's timeout was the token's life at registration. A newer account response
    for the same execution may have replaced the tokens since; then the wait goes on.
    """
    record = ledger.get(workflow_execution_id)
    if record is None or record.status is not SessionStatus.REGISTERED:
        return 0
    return record.session.seconds_until_token_expiry(now)


def record_outcome(
    ledger: Ledger, workflow_execution_id: str, outcome: SessionStatus, error: str | None
) -> bool:
    """Write the outcome; False (not an error) when the session was erased meanwhile.

    An erased session must stay erased: the ledger refuses to write over DELETED, and a
    retried Record step must not fail the execution for it.
    """
    try:
        ledger.record_outcome(workflow_execution_id, outcome, error=error)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        return False
    return True
