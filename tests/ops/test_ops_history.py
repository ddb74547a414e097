"""The execution summary reads names, times and error names from a history, nothing else.

State input and output carry task tokens and an error's cause is free text: the summary must
neither copy them nor need them. The history here is the shape Step Functions returns
(GetExecutionHistory, paged), with such values in it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from jumio_pipeline_ops.history import execution_summary

ARN = "arn:aws:states:us-east-1:123456789012:execution:jumio-session:wf-1"
START = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)
TASK_TOKEN = "AAAAKgAAAAIAAAAAAAAAA-task-token"


def entered(event_id: int, seconds: int, name: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "timestamp": START + timedelta(seconds=seconds),
        "type": "TaskStateEntered",
        "stateEnteredEventDetails": {"name": name, "input": json.dumps({"token": TASK_TOKEN})},
    }


HISTORY = [
    {"id": 1, "timestamp": START, "type": "ExecutionStarted"},
    entered(2, 0, "WaitForAllParts"),
    entered(3, 30, "Finalize"),
    entered(4, 31, "WaitForVerdict"),
    {
        "id": 5,
        "timestamp": START + timedelta(seconds=71),
        "type": "TaskTimedOut",
        "taskTimedOutEventDetails": {"error": "States.Timeout", "cause": f"token {TASK_TOKEN}"},
    },
    entered(6, 71, "PollVerdict"),
]


class _StepFunctions:
    """describe_execution and a history in two pages, as the API pages it."""

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        return {"status": "RUNNING", "startDate": START, "input": json.dumps({"t": TASK_TOKEN})}

    def get_execution_history(self, **kwargs: Any) -> dict[str, Any]:
        if kwargs.get("nextToken") == "page-2":
            return {"events": HISTORY[3:]}
        return {"events": HISTORY[:3], "nextToken": "page-2"}


def test_the_summary_has_every_state_in_order_and_each_failure_where_it_happened():
    summary = execution_summary(_StepFunctions(), ARN)

    assert summary is not None
    assert [name for name, _ in summary.states] == [
        "WaitForAllParts",
        "Finalize",
        "WaitForVerdict",
        "PollVerdict",
    ]
    assert summary.current_state == "PollVerdict"
    assert dict(summary.failures) == {"States.Timeout in WaitForVerdict": 1}
    assert summary.last_event_at == START + timedelta(seconds=71)


def test_the_summary_carries_no_input_output_or_cause():
    report = json.dumps(execution_summary(_StepFunctions(), ARN).as_report())

    assert TASK_TOKEN not in report
    assert "cause" not in report
