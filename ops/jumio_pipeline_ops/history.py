"""A session's Step Functions execution, summarised: status, states entered, failures.

Only names, times and error names are read from the history: state input and output carry task
tokens (and an error's ``cause`` is free text), so they are never looked at.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

_ENDINGS = ("Failed", "TimedOut", "Aborted")


@dataclass
class ExecutionSummary:
    """What an operator needs of one execution."""

    arn: str
    status: str
    started_at: datetime | None
    stopped_at: datetime | None
    states: list[tuple[str, datetime]] = field(default_factory=list)
    # ``States.Timeout in WaitForVerdict``: the error's name and the state it happened in (a
    # verdict wait that times out into polling is normal; a Finalize failure is not).
    failures: Counter[str] = field(default_factory=Counter)
    last_event_at: datetime | None = None

    @property
    def current_state(self) -> str | None:
        return self.states[-1][0] if self.states else None

    def as_report(self) -> dict[str, Any]:
        return {
            "arn": self.arn,
            "status": self.status,
            "startedAt": _iso(self.started_at),
            "stoppedAt": _iso(self.stopped_at),
            "states": [{"name": name, "enteredAt": _iso(at)} for name, at in self.states],
            "failures": dict(self.failures),
            "lastEventAt": _iso(self.last_event_at),
        }


def execution_summary(sfn: Any, arn: str) -> ExecutionSummary | None:
    """The execution's summary, or None when there is no such execution."""
    try:
        described = sfn.describe_execution(executionArn=arn)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
            return None
        raise
    summary = ExecutionSummary(
        arn=arn,
        status=described["status"],
        started_at=described.get("startDate"),
        stopped_at=described.get("stopDate"),
    )
    for event in history_events(sfn, arn):
        at = event["timestamp"]
        summary.last_event_at = (
            at if summary.last_event_at is None else max(summary.last_event_at, at)
        )
        entered = event.get("stateEnteredEventDetails")
        if entered:
            summary.states.append((entered["name"], at))
        if event["type"].endswith(_ENDINGS):
            name = _error_name(event) or event["type"]
            where = f" in {summary.current_state}" if summary.current_state else ""
            summary.failures[name + where] += 1
    return summary


def history_events(sfn: Any, arn: str) -> list[dict[str, Any]]:
    """Every history event, oldest first, across pages."""
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return sorted(events, key=lambda event: (event["timestamp"], event["id"]))
        kwargs["nextToken"] = page["nextToken"]


def _error_name(event: dict[str, Any]) -> str | None:
    """The ``error`` of the event's details (a name such as States.Timeout), never the cause."""
    for key, details in event.items():
        if key.endswith("EventDetails") and isinstance(details, dict) and details.get("error"):
            return str(details["error"])
    return None


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="milliseconds")
