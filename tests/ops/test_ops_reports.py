"""What each command prints, from reports built by hand: the text an operator reads, and that
a session's tokens and hrefs never reach it, whatever the ledger returned."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

from jumio_pipeline.domain.session import Credential, PartId, Session
from jumio_pipeline.domain.session_state import PartRecord, PartStatus, SessionRecord, SessionStatus
from jumio_pipeline.domain.session_view import PartView, Rejection, SessionView
from jumio_pipeline.domain.verdict import (
    CapabilityDecision,
    Decision,
    DecisionType,
    VerdictSource,
)
from jumio_pipeline.domain.workflow_status import WorkflowStatus
from jumio_pipeline_ops.cli import parser
from jumio_pipeline_ops.dead_letters import RedriveReport, list_text, redrive_text
from jumio_pipeline_ops.erase import erase_text
from jumio_pipeline_ops.history import ExecutionSummary
from jumio_pipeline_ops.output import check_printable
from jumio_pipeline_ops.status import erasure_report, render, secrets_of, session_report
from jumio_pipeline_ops.stuck import stuck_text

NOW = 1_800_000_000  # 2027-01-15T08:00:00Z
WF = "0b7d6a9e-3f51-4c43-9a1e-5f2a8d1c6e70"
ID_CRED = "1e6a0f3c-0d3b-4b9e-8d0a-6f1c2e3d4a5b"
DATA_CRED = "2f7b1a4d-1e4c-4c0f-9e1b-7a2d3f4e5b6c"
TOKEN = "eyJhbGciOi.session-token.sig"
HREF = f"https://api.amer-1.jumio.ai/api/v1/accounts/a/workflow-executions/{WF}"


def session(*, status=SessionStatus.FINALIZED, decision=None, erased=False) -> SessionView:
    credentials = {
        ID_CRED: Credential(
            ID_CRED,
            "ID",
            None if erased else TOKEN,
            {} if erased else {"FRONT": f"{HREF}/credentials/{ID_CRED}/parts/FRONT"},
            None if erased else HREF,
        ),
        DATA_CRED: Credential(DATA_CRED, "DATA", None if erased else TOKEN),
    }
    required = frozenset({f"{ID_CRED}/FRONT", f"{ID_CRED}/BACK", f"{DATA_CRED}/PREPARED_DATA"})
    record = SessionRecord(
        session=Session(
            account_id="9c0d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f",
            workflow_execution_id=WF,
            credentials=credentials,
            required_parts=required,
            issued_at=datetime.fromtimestamp(NOW - 600, UTC),
            token_expires_at=NOW + 1200,
            reference="order-1001",
        ),
        status=status,
        pending_parts=frozenset({f"{ID_CRED}/BACK"})
        if status is SessionStatus.REGISTERED
        else frozenset(),
        has_task_token=False,
        completion_signalled=True,
        execution_arn=None,
        callback_status=WorkflowStatus.PROCESSED if decision else None,
        decision=decision,
        verdict_source=VerdictSource.CALLBACK if decision else None,
        decided_at=NOW - 60 if decision else None,
    )
    return SessionView(
        record=record,
        registered_at=NOW - 600,
        outcome_at=None if status is SessionStatus.REGISTERED else NOW - 120,
        callback_received_at=NOW - 90 if decision else None,
        erased_at=NOW - 30 if erased else None,
        deletion_request_id="ticket-42" if erased else None,
    )


def parts() -> list[PartView]:
    front = PartRecord(
        PartId(ID_CRED, "FRONT"),
        PartStatus.UPLOADED,
        bucket="captures-bucket",
        key=f"captures/{WF}/{ID_CRED}/FRONT.jpg",
        format="JPEG",
        width=1600,
        height=1200,
    )
    data = PartRecord(
        PartId(DATA_CRED, "PREPARED_DATA"), PartStatus.REJECTED, reason="INVALID_FIELD"
    )
    return [
        PartView(front, updated_at=NOW - 300, last_rejection=Rejection("TOO_SMALL", NOW - 200)),
        PartView(data, updated_at=NOW - 250, field="dateOfBirth"),
    ]


def report_of(view: SessionView, *, lookup=None, erasures=()) -> dict:
    return {
        "workflowExecutionId": WF,
        "lookup": lookup or {"by": "workflowExecutionId"},
        "session": session_report(view, parts(), now=NOW),
        "execution": None,
        "erasures": [erasure_report(record) for record in erasures],
    }


def flat(text: str) -> list[str]:
    """The lines with each run of spaces as one (column widths depend on the longest cell)."""
    return [" ".join(line.split()) for line in text.splitlines()]


def execution() -> ExecutionSummary:
    start = datetime.fromtimestamp(NOW - 600, UTC)
    return ExecutionSummary(
        arn=f"arn:aws:states:us-east-1:123456789012:execution:jumio-session:{WF}",
        status="SUCCEEDED",
        started_at=start,
        stopped_at=start + timedelta(seconds=540),
        states=[
            ("WaitForAllParts", start),
            ("Finalize", start + timedelta(seconds=480)),
            ("Passed", start + timedelta(seconds=540)),
        ],
        failures=Counter({"States.TaskFailed in Finalize": 1}),
    )


def decided() -> Decision:
    return Decision(
        DecisionType.REJECTED,
        "NO_MATCH",
        risk_score=90,
        capabilities={
            "similarity": (CapabilityDecision(DecisionType.REJECTED, "NO_MATCH"),),
            "liveness": (
                CapabilityDecision(DecisionType.PASSED, "OK"),
                CapabilityDecision(DecisionType.WARNING, "BLURRED"),
                CapabilityDecision(DecisionType.PASSED, "OK"),
            ),
            "dataChecks": (),
        },
    )


def test_status_text_tells_the_session_its_parts_decision_and_execution():
    text = render(report_of(session(decision=decided())), execution(), now=NOW)

    lines = flat(text)
    assert lines[0] == f"session {WF} FINALIZED"
    assert "reference order-1001" in lines
    assert "token expires in 20m (2027-01-15T08:20:00Z)" in lines
    assert "callback PROCESSED, received 1m ago (2027-01-15T07:58:30Z)" in lines
    assert (
        "decision REJECTED (NO_MATCH) via callback, decided 1m ago "
        "(2027-01-15T07:59:00Z), risk score 90"
    ) in lines
    assert "parts 3 required, none pending" in lines
    [front_line] = [line for line in lines if line.startswith(f"{ID_CRED}/FRONT ")]
    assert front_line == (
        f"{ID_CRED}/FRONT UPLOADED JPEG 1600x1200, last rejection TOO_SMALL 3m ago "
        "(2027-01-15T07:56:40Z)"
    )
    [data_line] = [line for line in lines if f"{DATA_CRED}/PREPARED_DATA" in line]
    assert data_line.split()[1:] == [
        "REJECTED",
        "reason",
        "INVALID_FIELD",
        "(field",
        "dateOfBirth)",
    ]
    [back_line] = [line for line in lines if f"{ID_CRED}/BACK" in line]
    assert back_line.split()[1:] == ["NOT", "RECEIVED"]
    assert "similarity REJECTED (NO_MATCH)" in lines
    assert "liveness PASSED (OK) x2, WARNING (BLURRED)" in lines
    assert "dataChecks -" in lines
    assert (
        "execution SUCCEEDED (started 2027-01-15T07:50:00Z, stopped 2027-01-15T07:59:00Z)" in lines
    )
    assert ["+0.0s", "WaitForAllParts"] in [line.split() for line in lines]
    assert ["+480.0s", "Finalize"] in [line.split() for line in lines]
    assert "timeouts and failures States.TaskFailed in Finalize x1" in lines
    assert lines[-1] == "erasures none"


def test_status_of_a_session_found_by_reference_says_how():
    view = session(status=SessionStatus.REGISTERED)
    lookup = {"by": "reference", "reference": "order-1001", "claim": "STARTED"}

    text = render(report_of(view, lookup=lookup), None, now=NOW)

    assert "looked up by reference order-1001 (start claim STARTED)" in flat(text)
    assert f"parts 3 required, pending: {ID_CRED}/BACK" in flat(text)
    assert "decision" not in text
    assert "execution none" in flat(text)


def test_status_of_an_erased_session_shows_the_erasure_and_no_part_as_awaited():
    audit = {
        "requestId": "ticket-42",
        "at": "2027-01-15T07:59:30.000000Z",
        "scope": "SESSION",
        "outcome": "COMPLETED",
        "requestedBy": "employee:4711",
        "deleted": {"objectVersions": 3, "ledgerItems": 4, "deadLetters": 0},
        "jumio": [{"operation": "DELETE_WORKFLOW", "outcome": "CONFIRMED"}],
        "detail": "free text stays out",
        "workflowExecutionIds": [WF],
    }
    view = session(status=SessionStatus.DELETED, erased=True)

    text = render(report_of(view, erasures=[audit]), None, now=NOW)

    lines = flat(text)
    assert "token erased" in lines
    assert "erased 30s ago (2027-01-15T07:59:30Z) by request ticket-42" in lines
    [back_line] = [line for line in lines if f"{ID_CRED}/BACK" in line]
    assert back_line.split()[1:] == ["ERASED"]
    assert "NOT RECEIVED" not in text
    assert lines[-2] == "erasures"
    assert lines[-1].split() == [
        "2027-01-15T07:59:30.000000Z",
        "ticket-42",
        "SESSION",
        "COMPLETED",
        "by",
        "employee:4711",
        "objectVersions",
        "3,",
        "ledgerItems",
        "4;",
        "DELETE_WORKFLOW",
        "CONFIRMED",
    ]
    assert "free text" not in text


def test_a_status_report_holds_no_token_or_href_of_the_session():
    view = session(decision=decided())
    report = report_of(view)

    rendered = json.dumps(report) + render(report, execution(), now=NOW)

    assert TOKEN in secrets_of(view)
    assert HREF in secrets_of(view)
    check_printable(rendered, secrets_of(view))  # raises if either is there


def test_dlq_list_text_is_one_line_per_queue_with_its_reasons():
    report = [
        {"queue": "CaptureEventsDLQ", "counted": 0, "byReason": {}, "inFlight": 0, "delayed": 0},
        {
            "queue": "SessionsDLQ",
            "counted": 3,
            "byReason": {"INVALID_JSON": 2, "RETRIES_EXHAUSTED": 1},
            "inFlight": 2,
            "delayed": 0,
        },
    ]

    assert list_text(report).splitlines() == [
        "CaptureEventsDLQ  0",
        "SessionsDLQ       3  INVALID_JSON 2, RETRIES_EXHAUSTED 1; 2 in flight, not counted",
    ]


def test_redrive_text_says_how_many_moved_by_reason_and_what_stayed():
    report = RedriveReport(
        queue="PreparedDataDLQ",
        source="PreparedDataQueue",
        reason="SESSION_NOT_REGISTERED",
        dry_run=False,
        moved=Counter({"SESSION_NOT_REGISTERED": 4}),
        left=Counter({"INVALID_FIELD": 1}),
        send_failed=1,
    )

    assert redrive_text(report).splitlines() == [
        "PreparedDataDLQ -> PreparedDataQueue (reason SESSION_NOT_REGISTERED only): moved 4",
        "  SESSION_NOT_REGISTERED 4",
        "left in the DLQ: INVALID_FIELD 1",
        "could not be sent (left in the DLQ): 1",
    ]
    assert report.as_report()["moved"] == {"SESSION_NOT_REGISTERED": 4}


def test_a_dry_run_says_what_would_move():
    report = RedriveReport(
        queue="SessionsDLQ",
        source="SessionsQueue",
        reason=None,
        dry_run=True,
        moved=Counter({"INVALID_JSON": 2}),
    )

    assert redrive_text(report).splitlines()[0] == "SessionsDLQ -> SessionsQueue: would move 2"
    assert report.as_report()["wouldMove"] == {"INVALID_JSON": 2}
    assert "moved" not in report.as_report()


def test_stuck_text_lists_each_session_or_says_there_is_none():
    report = [
        {
            "workflowExecutionId": WF,
            "reasons": ["execution running, no state change for 2h00m in WaitForAllParts"],
            "since": "2027-01-15T06:00:00Z",
        }
    ]

    assert stuck_text([], 1800) == "no session stuck for more than 30m"
    assert stuck_text(report, 1800) == (
        f"{WF}  execution running, no state change for 2h00m in WaitForAllParts"
    )


def test_erase_text_names_the_outcome_sessions_and_counts():
    record = {
        "requestId": "ops-1",
        "outcome": "COMPLETED",
        "scope": "SESSION",
        "requestedBy": "ticket:OPS-1",
        "at": "2027-01-15T08:00:00.000000Z",
        "reason": None,
        "workflowExecutionIds": [WF],
        "deleted": {"objectVersions": 2, "deleteMarkers": 0},
        "jumio": [{"operation": "DELETE_WORKFLOW", "outcome": "CONFIRMED"}],
    }

    assert erase_text(record).splitlines() == [
        "request ops-1: COMPLETED (SESSION, by ticket:OPS-1, at 2027-01-15T08:00:00.000000Z)",
        f"  sessions    {WF}",
        "  deleted     objectVersions 2",
        "  jumio       DELETE_WORKFLOW CONFIRMED",
    ]


def test_json_is_asked_for_before_or_after_the_command():
    before = parser().parse_args(["--json", "stuck"])
    after = parser().parse_args(["dlq", "list", "--json"])
    neither = parser().parse_args(["stuck", "--older-than", "2h"])

    assert (before.as_json, after.as_json, neither.as_json) == (True, True, False)
    assert neither.older_than == 7200
