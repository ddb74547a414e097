"""`status`: one session as the ledger, its execution and the audit trail tell it.

The report copies allowlisted fields only (ids, statuses, codes, counts, times): the session's
tokens and Jumio hrefs are in hand (the ledger returns them) and are used for nothing but the
last check before printing.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any
from uuid import UUID

from jumio_pipeline.adapters.ledger import Ledger
from jumio_pipeline.domain.session_state import StartState
from jumio_pipeline.domain.session_view import PartView, SessionView
from jumio_pipeline_ops.context import Context
from jumio_pipeline_ops.durations import ago, iso, span, time_left
from jumio_pipeline_ops.errors import OpsError
from jumio_pipeline_ops.history import ExecutionSummary, execution_summary
from jumio_pipeline_ops.output import emit, table

NO_CLAIM_HINT = (
    "a session started by reference (StartSession) has a claim; one registered from the "
    "sessions queue carries its reference only on its session item: pass its "
    "workflowExecutionId, or --scan to search the ledger for the reference"
)


def run(ctx: Context, target: str, *, scan: bool) -> int:
    """Print the status of the session ``target`` names (an id or a reference)."""
    ledger = ctx.ledger()
    wf_id, lookup = resolve(ledger, target, now=ctx.now(), scan=scan)
    view = ledger.view(wf_id)
    if view is None:
        raise OpsError(f"no session {wf_id} in the ledger")
    parts = ledger.part_views(wf_id)
    execution = _execution(ctx, view)
    erasures = ctx.audit_trail().records_naming(wf_id)
    report = {
        "workflowExecutionId": wf_id,
        "lookup": lookup,
        "session": session_report(view, parts, now=ctx.now()),
        "execution": None if execution is None else execution.as_report(),
        "erasures": [erasure_report(record) for record in erasures],
    }
    emit(ctx, report, render(report, execution, now=ctx.now()), secrets=secrets_of(view))
    return 0


def resolve(ledger: Ledger, target: str, *, now: float, scan: bool) -> tuple[str, dict[str, Any]]:
    """The workflowExecutionId ``target`` names, and how it was found."""
    if _is_uuid(target) and ledger.view(target.lower()) is not None:
        return target.lower(), {"by": "workflowExecutionId"}
    claim = ledger.start_claim(target, now=now)
    if claim is not None and claim.workflow_execution_id:
        return claim.workflow_execution_id, {
            "by": "reference",
            "reference": target,
            "claim": claim.state.value,
        }
    if claim is not None:
        waiting = claim.retry_after_seconds or 0
        if claim.state is StartState.STARTING:
            raise OpsError(
                f"reference {target}: a start is in progress (lease ends in {span(waiting)})"
            )
        raise OpsError(
            f"reference {target}: the outcome of its start is unknown (Jumio did not answer); "
            f"the reference is free again in {span(waiting)}"
        )
    if scan:
        found = ledger.sessions_with_reference(target)
        if len(found) == 1:
            return found[0], {"by": "reference", "reference": target, "claim": None}
        if found:
            raise OpsError(f"reference {target} is on {len(found)} sessions: {', '.join(found)}")
        raise OpsError(f"no session carries reference {target}")
    if _is_uuid(target):
        raise OpsError(f"no session {target.lower()} in the ledger, and no reference claim for it")
    raise OpsError(f"no reference claim for {target}: {NO_CLAIM_HINT}")


def session_report(view: SessionView, parts: list[PartView], *, now: float) -> dict[str, Any]:
    """The session's allowlisted facts."""
    record = view.record
    session = record.session
    decision = record.decision
    return {
        "status": record.status.value,
        "accountId": session.account_id,
        "reference": session.reference,
        "registeredAt": iso(view.registered_at),
        "token": {
            "expiresAt": iso(session.token_expires_at),
            "secondsLeft": max(0, int(session.token_expires_at - now)),
        },
        "requiredParts": sorted(session.required_parts),
        "pendingParts": sorted(record.pending_parts),
        "completionSignalled": record.completion_signalled,
        "lastPartAt": iso(view.last_part_at),
        "parts": [part_report(part) for part in sorted(parts, key=_part_order)],
        "outcomeAt": iso(view.outcome_at),
        "outcomeError": view.outcome_error,
        "callback": {
            "status": None if record.callback_status is None else record.callback_status.value,
            "receivedAt": iso(view.callback_received_at),
            "conflictingStatus": view.conflicting_callback_status,
        },
        "polls": {
            "count": view.polls,
            "lastStatus": view.last_polled_status,
            "lastAt": iso(view.last_polled_at),
        },
        "decision": None
        if decision is None
        else {
            "type": decision.type.value,
            "label": decision.label,
            "riskScore": decision.risk_score,
            "capabilities": {
                name: [{"type": item.type.value, "label": item.label} for item in items]
                for name, items in decision.capabilities.items()
            },
            "source": None if record.verdict_source is None else record.verdict_source.value,
            "decidedAt": iso(record.decided_at),
        },
        "verdictPublishedAt": iso(view.verdict_published_at),
        "erasedAt": iso(view.erased_at),
        "deletionRequestId": view.deletion_request_id,
    }


def part_report(view: PartView) -> dict[str, Any]:
    record = view.record
    part = record.part
    return {
        "part": part.ref if part.page is None else f"{part.ref}#{part.page}",
        "status": record.status.value,
        "reason": record.reason,
        "field": view.field,
        "format": record.format,
        "width": record.width,
        "height": record.height,
        "bytes": record.size_bytes,
        "updatedAt": iso(view.updated_at),
        "lastRejection": None
        if view.last_rejection is None
        else {
            "reason": view.last_rejection.reason,
            "field": view.last_rejection.field,
            "at": iso(view.last_rejection.at),
        },
    }


def erasure_report(record: dict[str, Any]) -> dict[str, Any]:
    """An audit record's ids, outcome and counts (its free-text ``detail`` stays out)."""
    return {
        "requestId": record.get("requestId"),
        "at": record.get("at"),
        "scope": record.get("scope"),
        "outcome": record.get("outcome"),
        "requestedBy": record.get("requestedBy"),
        "reason": record.get("reason"),
        "deleted": {name: int(count) for name, count in (record.get("deleted") or {}).items()},
        "jumio": [
            {"operation": call.get("operation"), "outcome": call.get("outcome")}
            for call in record.get("jumio") or []
        ],
    }


def secrets_of(view: SessionView) -> list[str]:
    """The session's tokens and hrefs: what must never be printed."""
    found: list[str] = []
    for credential in view.record.session.credentials.values():
        found.extend(filter(None, [credential.token, credential.workflow_execution_href]))
        found.extend(credential.parts.values())
    return found


# --- text ------------------------------------------------------------------------------------


def render(report: dict[str, Any], execution: ExecutionSummary | None, *, now: float) -> str:
    session = report["session"]
    lookup = report["lookup"]
    facts: list[tuple[str, str]] = []
    if lookup["by"] == "reference":
        claim = lookup["claim"] or "none: found by --scan"
        facts.append(("looked up by", f"reference {lookup['reference']} (start claim {claim})"))
    facts += [
        ("account", session["accountId"]),
        ("reference", session["reference"] or "-"),
        ("registered", _when(session["registeredAt"], now)),
        ("token", _token(session, now)),
        *_verdict_facts(session, now),
        ("parts", _parts_line(session)),
    ]
    lines = [
        f"session {report['workflowExecutionId']}  {session['status']}",
        table(facts),
        _parts_table(session, now),
        *_decision_lines(session),
        _execution_text(execution),
        _erasures_text(report["erasures"]),
    ]
    return "\n".join(line for line in lines if line)


def _token(session: dict[str, Any], now: float) -> str:
    expires = session["token"]["expiresAt"]
    if session["erasedAt"]:
        return "erased"
    epoch = _epoch(expires)
    return f"{time_left(epoch, now)} ({expires})" if epoch is not None else "-"


def _parts_line(session: dict[str, Any]) -> str:
    pending = session["pendingParts"]
    required = len(session["requiredParts"])
    return f"{required} required, " + (
        f"pending: {', '.join(pending)}" if pending else "none pending"
    )


def _parts_table(session: dict[str, Any], now: float) -> str:
    rows = []
    recorded = {part["part"].split("#")[0] for part in session["parts"]}
    for part in session["parts"]:
        notes = []
        if part["reason"]:
            notes.append(f"reason {part['reason']}" + _field(part["field"]))
        if part["format"]:
            notes.append(f"{part['format']} {part['width']}x{part['height']}")
        if part["lastRejection"]:
            rejection = part["lastRejection"]
            notes.append(
                f"last rejection {rejection['reason']}{_field(rejection['field'])} "
                f"{_when(rejection['at'], now)}"
            )
        rows.append([part["part"], part["status"], ", ".join(notes)])
    missing = "ERASED" if session["erasedAt"] else "NOT RECEIVED"
    for part in sorted(set(session["requiredParts"]) - recorded):
        rows.append([part, missing, ""])
    return table(rows, indent=4)


def _field(path: str | None) -> str:
    """`` (field dateOfBirth)``: where prepared data was refused (a path, never a value)."""
    return f" (field {path})" if path else ""


def _verdict_facts(session: dict[str, Any], now: float) -> list[tuple[str, str]]:
    facts: list[tuple[str, str]] = []
    if session["outcomeAt"]:
        error = f", error {session['outcomeError']}" if session["outcomeError"] else ""
        facts.append(("outcome", f"{session['status']} {_when(session['outcomeAt'], now)}{error}"))
    callback = session["callback"]
    if callback["status"]:
        conflict = callback["conflictingStatus"]
        facts.append(
            (
                "callback",
                f"{callback['status']}, received {_when(callback['receivedAt'], now)}"
                + (f" (a later one said {conflict})" if conflict else ""),
            )
        )
    elif session["outcomeAt"]:
        facts.append(("callback", "none received"))
    polls = session["polls"]
    if polls["count"]:
        facts.append(
            ("polls", f"{polls['count']}, last {polls['lastStatus']} {_when(polls['lastAt'], now)}")
        )
    if session["verdictPublishedAt"]:
        facts.append(("verdict event", f"published {_when(session['verdictPublishedAt'], now)}"))
    if session["erasedAt"]:
        facts.append(
            (
                "erased",
                f"{_when(session['erasedAt'], now)} by request {session['deletionRequestId']}",
            )
        )
    decision = session["decision"]
    if decision:
        label = _label(decision["type"], decision["label"])
        risk = f", risk score {decision['riskScore']}" if decision["riskScore"] is not None else ""
        facts.append(
            (
                "decision",
                f"{label} via {decision['source']}, "
                f"decided {_when(decision['decidedAt'], now)}{risk}",
            )
        )
    elif session["status"] == "FINALIZED":
        facts.append(("decision", "none yet"))
    return facts


def _decision_lines(session: dict[str, Any]) -> list[str]:
    decision = session["decision"]
    if not decision or not decision["capabilities"]:
        return []
    rows = [[name, _labels(items)] for name, items in decision["capabilities"].items()]
    return ["  capabilities", table(rows, indent=4)]


def _labels(items: list[dict[str, Any]]) -> str:
    """``PASSED (OK) x2, WARNING (BLURRED)``: Jumio decides a capability once per part it
    checked, so the same answer repeats; each is shown once with its count, in Jumio's order."""
    counts = Counter(_label(item["type"], item["label"]) for item in items)
    shown = (f"{label} x{count}" if count > 1 else label for label, count in counts.items())
    return ", ".join(shown) or "-"


def _label(decision_type: str, label: str | None) -> str:
    """``REJECTED (NO_MATCH)``; a label that repeats the type is left out."""
    return f"{decision_type} ({label})" if label and label != decision_type else decision_type


def _execution_text(execution: ExecutionSummary | None) -> str:
    if execution is None:
        return "execution  none"
    stopped = f", stopped {_iso_text(execution.stopped_at)}" if execution.stopped_at else ""
    lines = [f"execution  {execution.status} (started {_iso_text(execution.started_at)}{stopped})"]
    start = execution.started_at
    rows = [
        [f"+{(at - start).total_seconds():.1f}s" if start else _iso_text(at), name]
        for name, at in execution.states
    ]
    lines.append(table(rows, indent=4))
    failures = ", ".join(f"{name} x{count}" for name, count in execution.failures.items())
    lines.append(f"  timeouts and failures  {failures or 'none'}")
    return "\n".join(line for line in lines if line)


def _erasures_text(erasures: list[dict[str, Any]]) -> str:
    if not erasures:
        return "erasures  none"
    rows = []
    for record in erasures:
        counts = ", ".join(f"{name} {count}" for name, count in record["deleted"].items() if count)
        jumio = ", ".join(f"{call['operation']} {call['outcome']}" for call in record["jumio"])
        rows.append(
            [
                record["at"] or "-",
                record["requestId"] or "-",
                record["scope"] or "-",
                record["outcome"] or "-",
                f"by {record['requestedBy'] or '-'}",
                "; ".join(filter(None, [record["reason"], counts, jumio])),
            ]
        )
    return "erasures\n" + table(rows, indent=4)


def _execution(ctx: Context, view: SessionView) -> ExecutionSummary | None:
    arn = view.record.execution_arn or _expected_arn(ctx, view.record.session.workflow_execution_id)
    if arn is None:
        return None
    return execution_summary(ctx.cloud.client("stepfunctions"), arn)


def _expected_arn(ctx: Context, wf_id: str) -> str | None:
    """The ARN the session's execution has (it is named by the workflow execution id)."""
    try:
        machine = ctx.resources.physical("SessionStateMachine")
    except OpsError:
        return None
    prefix, name = machine.split(":stateMachine:", 1)
    return f"{prefix}:execution:{name}:{wf_id}"


def _when(moment: str | None, now: float) -> str:
    epoch = _epoch(moment)
    return "-" if epoch is None else f"{ago(epoch, now)} ({moment})"


def _epoch(moment: str | None) -> float | None:
    return (
        None
        if moment is None
        else datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp()
    )


def _iso_text(moment: Any) -> str:
    return "-" if moment is None else (iso(moment.timestamp()) or "-")


def _part_order(view: PartView) -> tuple[str, str, int]:
    part = view.record.part
    return (part.credential_id, part.classifier, part.page or 0)


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True
