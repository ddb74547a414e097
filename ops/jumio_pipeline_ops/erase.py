"""`erase`: file a retention request and wait for the audit record that ends it.

The request goes through the same queue as every other (README "Retention requests"), so the
deletion function does the work and writes the audit record; this command only checks the
request first, with the pipeline's own rules, and then reads the record back. The audit record
holds ids, counts and outcome names only, which is all that is printed.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

from jumio_pipeline.domain.erasure_request import parse_request
from jumio_pipeline.domain.errors import InvalidMessage
from jumio_pipeline_ops.context import Context
from jumio_pipeline_ops.errors import OpsError
from jumio_pipeline_ops.output import emit
from jumio_pipeline_ops.status import erasure_report

POLL_SECONDS = 1.0
EXIT_FAILED = 1
EXIT_STILL_RUNNING = 3


def request_body(
    *,
    scope: str,
    requested_by: str,
    request_id: str | None,
    workflow_execution_id: str | None,
    account_id: str | None,
    credential_id: str | None,
    classifier: str | None,
) -> dict[str, Any]:
    """The retention request, checked with the pipeline's own rules (OpsError naming a field)."""
    body = {
        "requestId": request_id or f"ops-{uuid4()}",
        "scope": scope,
        "workflowExecutionId": workflow_execution_id,
        "accountId": account_id,
        "credentialId": credential_id,
        "classifier": classifier,
        "requestedBy": requested_by,
    }
    body = {name: value for name, value in body.items() if value is not None}
    try:
        parse_request(body)
    except InvalidMessage as exc:
        raise OpsError(f"the request is not valid: {exc.plain_message}") from None
    return body


def run(ctx: Context, body: dict[str, Any], *, timeout: float) -> int:
    """Send the request, wait up to ``timeout`` s for its final audit record, print it."""
    ctx.cloud.client("sqs").send_message(
        QueueUrl=ctx.resources.physical("RetentionRequestsQueue"), MessageBody=json.dumps(body)
    )
    audit = ctx.audit_trail()
    request_id = body["requestId"]
    deadline = ctx.now() + timeout
    while True:
        final = audit.final_record(request_id)
        if final is not None or ctx.now() >= deadline:
            break
        ctx.sleep(POLL_SECONDS)
    history = audit.history(request_id)
    if final is None:
        last = history[-1]["outcome"] if history else "no audit record yet"
        report = {"requestId": request_id, "final": None, "lastOutcome": last}
        text = (
            f"request {request_id}: not finished after {timeout:g} s (last: {last}); "
            f"run `status` on the session, or this command again with --request-id {request_id}"
        )
        emit(ctx, report, text)
        return EXIT_STILL_RUNNING
    record = erasure_report(final)
    record["workflowExecutionIds"] = list(final.get("workflowExecutionIds") or [])
    record["attempts"] = len(history)
    emit(ctx, record, erase_text(record))
    return EXIT_FAILED if record["outcome"] == "FAILED" else 0


def erase_text(record: dict[str, Any]) -> str:
    """The request's outcome, the sessions it covered, and what went where."""
    lines = [
        f"request {record['requestId']}: {record['outcome']} ({record['scope']}, "
        f"by {record['requestedBy'] or '-'}, at {record['at']})"
    ]
    if record["reason"]:
        lines.append(f"  reason      {record['reason']}")
    sessions = record["workflowExecutionIds"]
    lines.append(f"  sessions    {', '.join(sessions) if sessions else '-'}")
    counts = ", ".join(f"{name} {count}" for name, count in record["deleted"].items() if count)
    lines.append(f"  deleted     {counts or '-'}")
    jumio = ", ".join(f"{call['operation']} {call['outcome']}" for call in record["jumio"])
    lines.append(f"  jumio       {jumio or '-'}")
    return "\n".join(lines)
