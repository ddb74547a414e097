"""The input of the state machine's task steps: checked here, ids only.

Each Lambda task of statemachine/session.asl.json gets ids from the execution; a wrong input
is named by its field, never echoed (an operator may have started an execution by hand).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from jumio_pipeline.domain.errors import InvalidMessage
from jumio_pipeline.domain.session_state import SessionStatus

# What RecordExpired and RecordFailed write. FINALIZED is not among them: only the finalize
# function writes it, once Jumio's answer or status confirms the finalize.
RECORDABLE_OUTCOMES = frozenset({SessionStatus.EXPIRED, SessionStatus.FAILED})
_MAX_ERROR_NAME = 128


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


def poll_round_of(event: dict[str, Any]) -> int:
    """How many verdict polls ran before this one (PollVerdict's ``round``)."""
    value = event.get("round")
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
        raise InvalidMessage(
            "INVALID_TASK_INPUT", "round must be a whole number from 0 to 100", field="round"
        )
    return value


def outcome_of(event: dict[str, Any]) -> tuple[SessionStatus, str | None]:
    """The outcome (EXPIRED, FAILED) and the optional error name to record."""
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
