"""The state machine's task inputs: what each task function accepts, refused with the field named.

The inputs come from statemachine/session.asl.json only, but a task function is also callable
by hand (the console, the CLI): a malformed input must fail with a clear name, never be acted on.
"""

from __future__ import annotations

import pytest

from jumio_pipeline.domain.errors import InvalidMessage
from jumio_pipeline.domain.session_state import SessionStatus
from jumio_pipeline.domain.task_input import (
    outcome_of,
    poll_round_of,
    task_token_of,
    workflow_execution_id_of,
)

WF = "6F1E5C1A-1C4E-4C29-9B3C-6D3C2C9F0A11"


def test_the_workflow_execution_id_is_canonical_lower_case():
    assert workflow_execution_id_of({"workflowExecutionId": WF}) == WF.lower()


@pytest.mark.parametrize("event", [[], {"workflowExecutionId": 7}, {"workflowExecutionId": "x"}])
def test_a_task_input_without_a_workflow_execution_id_is_refused(event):
    with pytest.raises(InvalidMessage) as refused:
        workflow_execution_id_of(event)
    assert refused.value.reason == "INVALID_TASK_INPUT"


@pytest.mark.parametrize("outcome", ["EXPIRED", "FAILED"])
def test_record_steps_write_expired_or_failed_with_an_optional_error_name(outcome):
    assert outcome_of({"outcome": outcome, "error": "JumioAuthError"}) == (
        SessionStatus(outcome),
        "JumioAuthError",
    )
    assert outcome_of({"outcome": outcome}) == (SessionStatus(outcome), None)


@pytest.mark.parametrize("outcome", ["FINALIZED", "DELETED", "REGISTERED", None, "expired"])
def test_finalized_and_other_statuses_are_not_an_outcome_a_record_step_writes(outcome):
    # FINALIZED is written by the finalize function once Jumio confirms it, by nobody else.
    with pytest.raises(InvalidMessage) as refused:
        outcome_of({"outcome": outcome})
    assert refused.value.field == "outcome"
    assert "EXPIRED, FAILED" in str(refused.value)


def test_an_error_name_longer_than_a_name_is_refused():
    with pytest.raises(InvalidMessage) as refused:
        outcome_of({"outcome": "FAILED", "error": "x" * 129})
    assert refused.value.field == "error"


def test_the_poll_round_and_the_task_token_are_checked():
    assert poll_round_of({"round": 3}) == 3
    assert task_token_of({"taskToken": "AAAA"}) == "AAAA"
    for event in ({"round": True}, {"round": -1}, {"round": 101}, {}):
        with pytest.raises(InvalidMessage, match="round"):
            poll_round_of(event)
    with pytest.raises(InvalidMessage, match="taskToken"):
        task_token_of({"taskToken": ""})
