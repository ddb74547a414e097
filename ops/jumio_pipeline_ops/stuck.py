"""`stuck`: sessions that have not moved for longer than a threshold, with the reason.

Three ways a session can hang, each seen where it shows: an execution still running whose
last state change is old (Step Functions), a session REGISTERED whose execution never started,
and one FINALIZED whose decision never came (the ledger). The ledger questions are Scans and
every old running execution's history is read: an operator's query, not a cheap one.
"""

from __future__ import annotations

from typing import Any

from jumio_pipeline.domain.session_state import SessionStatus
from jumio_pipeline_ops.context import Context
from jumio_pipeline_ops.durations import iso, span
from jumio_pipeline_ops.history import execution_summary
from jumio_pipeline_ops.output import emit, table


def run(ctx: Context, older_than: int) -> int:
    """Print one line per stuck session (none: a line saying so)."""
    now = ctx.now()
    cutoff = now - older_than
    found: dict[str, list[dict[str, Any]]] = {}
    for finding in [*_running_executions(ctx, cutoff, now), *_ledger_findings(ctx, cutoff, now)]:
        found.setdefault(finding["workflowExecutionId"], []).append(finding)
    report = [
        {
            "workflowExecutionId": wf_id,
            "reasons": [finding["reason"] for finding in findings],
            "since": min(finding["since"] for finding in findings),
        }
        for wf_id, findings in sorted(
            found.items(), key=lambda item: min(f["since"] for f in item[1])
        )
    ]
    emit(ctx, {"olderThanSeconds": older_than, "stuck": report}, stuck_text(report, older_than))
    return 0


def stuck_text(report: list[dict[str, Any]], older_than: int) -> str:
    """One line per stuck session, oldest first: its id and every reason it is stuck."""
    rows = [[entry["workflowExecutionId"], "; ".join(entry["reasons"])] for entry in report]
    return table(rows, indent=0) if rows else f"no session stuck for more than {span(older_than)}"


def _running_executions(ctx: Context, cutoff: float, now: float) -> list[dict[str, Any]]:
    sfn = ctx.cloud.client("stepfunctions")
    machine = ctx.resources.physical("SessionStateMachine")
    findings = []
    pages = sfn.get_paginator("list_executions").paginate(
        stateMachineArn=machine, statusFilter="RUNNING"
    )
    for execution in (e for page in pages for e in page["executions"]):
        if execution["startDate"].timestamp() >= cutoff:
            continue  # started after the cutoff: it cannot have been still since before it
        summary = execution_summary(sfn, execution["executionArn"])
        if summary is None or summary.status != "RUNNING":
            continue
        last = (summary.last_event_at or execution["startDate"]).timestamp()
        if last >= cutoff:
            continue
        where = f" in {summary.current_state}" if summary.current_state else ""
        findings.append(
            {
                "workflowExecutionId": execution["name"],
                "reason": f"execution running, no state change for {span(now - last)}{where}",
                "since": iso(last),
            }
        )
    return findings


def _ledger_findings(ctx: Context, cutoff: float, now: float) -> list[dict[str, Any]]:
    findings = []
    views = ctx.ledger().session_views({SessionStatus.REGISTERED, SessionStatus.FINALIZED})
    for view in views:
        record = view.record
        if record.status is SessionStatus.REGISTERED and record.execution_arn is None:
            since, missing = view.registered_at, "no execution"
        elif record.status is SessionStatus.FINALIZED and record.decision is None:
            since, missing = view.outcome_at, "no decision"
        else:
            continue
        if since is not None and since < cutoff:
            findings.append(
                {
                    "workflowExecutionId": record.session.workflow_execution_id,
                    "reason": f"{record.status.value} {span(now - since)} ago, {missing}",
                    "since": iso(since),
                }
            )
    return findings
