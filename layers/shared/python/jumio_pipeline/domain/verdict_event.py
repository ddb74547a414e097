"""The "Verification Completed" event: what other services learn about a session's end.

Published on the stack's EventBridge bus (source ``jumio-capture-pipeline``) when a session
gets its verdict or expires. The detail holds ids, the caller's non-PII reference, the
decision types and labels, how the pipeline learned them, and timestamps: never a token, an
image, or anything Jumio extracted. docs/events.md documents the schema; a test checks every
event against it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jumio_pipeline.domain.session_state import SessionRecord
from jumio_pipeline.domain.verdict import Verdict

EVENT_SOURCE = "jumio-capture-pipeline"
DETAIL_TYPE = "Verification Completed"
SCHEMA_VERSION = "1"


def verdict_event(record: SessionRecord, verdict: Verdict | None, *, now: float) -> dict[str, Any]:
    """The event detail for a decided (``verdict`` None: from the decision) or expired session."""
    decision = record.decision
    if verdict is None:
        if decision is None:
            raise ValueError("a verdict event needs a decision or an explicit verdict")
        verdict = decision.verdict
    session = record.session
    return {
        "schemaVersion": SCHEMA_VERSION,
        "workflowExecutionId": session.workflow_execution_id,
        "accountId": session.account_id,
        "reference": session.reference,
        "verdict": verdict.value,
        "decision": None if decision is None else decision.as_record(),
        "source": None if record.verdict_source is None else record.verdict_source.value,
        "finalizedAt": _iso(record.finalized_at),
        "decidedAt": _iso(record.decided_at),
        "publishedAt": _iso(now),
    }


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat().replace("+00:00", "Z")
