"""Reading the outcome from the outside: the ledger, Step Functions, the simulator's admin
API, the verdict events a subscriber received, every DLQ.

Why from the outside: the soak must not take the pipeline's word for anything. Sessions, parts
and decisions come from the ledger table, end states from each execution's history, what Jumio
holds, how often finalize ran and what became of each callback from the simulator's own state,
the published verdicts from the soak's own subscriber queue, and dead letters from every queue
that some queue's redrive policy names (so a DLQ added to template.yaml later is read too).
Only ids, statuses, counters, decision types and `reason` attributes are kept: never a message
body, token or personal value.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote_plus

from boto3.dynamodb.conditions import Key

from local_cloud.demo_verdicts import CallbackFate, VerdictEvent
from tests.soak.figures import (
    NO_REASON,
    DeadLetter,
    EventSeen,
    JumioPart,
    JumioRequest,
    SessionView,
)
from tests.soak.workload import PARTS, PREPARED_DATA, SoakSession

END_STATE_EVENTS = frozenset({"SucceedStateEntered", "FailStateEntered"})

_DLQ_PART = {"SessionsDLQ": "registration", "PreparedDataDLQ": PREPARED_DATA}
_RECEIVE_HIDE_SECONDS = 900  # read each DLQ message once; the run ends long before it returns


def ledger_items(table: Any, workflow_execution_id: str) -> list[dict[str, Any]]:
    """Every ledger item of one session (session item and part items)."""
    response = table.query(
        KeyConditionExpression=Key("pk").eq(workflow_execution_id), ConsistentRead=True
    )
    return response["Items"]


def session_status(items: Iterable[dict[str, Any]]) -> str | None:
    """The session item's status, or None before registration."""
    head = next((item for item in items if item["sk"] == "SESSION"), None)
    return None if head is None else str(head["status"])


def _part_classifier(sort_key: str) -> str | None:
    """`PART#{credentialId}#{CLASSIFIER}` → CLASSIFIER (document pages have a fourth field)."""
    fields = sort_key.split("#")
    return fields[2] if len(fields) == 3 and fields[0] == "PART" else None


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def session_ended(items: Iterable[dict[str, Any]]) -> bool:
    """The ledger says the session is over: EXPIRED, FAILED, or FINALIZED with a decision."""
    head = next((item for item in items if item["sk"] == "SESSION"), None)
    if head is None:
        return False
    if head["status"] == "FINALIZED":
        return "decision" in head
    return head["status"] in ("EXPIRED", "FAILED")


def execution_arn(items: Iterable[dict[str, Any]]) -> str | None:
    """The session's Step Functions execution, as the ledger records it."""
    head = next((item for item in items if item["sk"] == "SESSION"), {})
    arn = head.get("executionArn")
    return None if arn is None else str(arn)


def running(sfn: Any, arn: str | None) -> bool:
    """Whether an execution is still running (one that never started is not)."""
    return arn is not None and sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"


def end_state(sfn: Any, arn: str | None) -> str | None:
    """The Succeed or Fail state an execution ended in, from its history; None if none yet."""
    if arn is None:
        return None
    history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    names = [
        event["stateEnteredEventDetails"]["name"]
        for event in history
        if event["type"] in END_STATE_EVENTS
    ]
    return names[-1] if names else None


def events_seen(events: Iterable[VerdictEvent]) -> dict[str, tuple[EventSeen, ...]]:
    """Workflow execution id → the verdict events received for it, in arrival order."""
    seen: dict[str, list[EventSeen]] = {}
    for event in events:
        seen.setdefault(event.workflow_execution_id, []).append(
            EventSeen(event.verdict, event.decision, event.source)
        )
    return {wf: tuple(found) for wf, found in seen.items()}


def session_view(
    session: SoakSession,
    items: list[dict[str, Any]],
    jumio: dict[str, Any] | None,
    sent_early: tuple[str, ...] = (),
    *,
    end: str | None = None,
    events: tuple[EventSeen, ...] = (),
    callback: CallbackFate | None = None,
) -> SessionView:
    """One session's ledger items, simulator state, end state and events as a SessionView."""
    head = next((item for item in items if item["sk"] == "SESSION"), {})
    ledger_parts: dict[str, str] = {}
    rejections: dict[str, str] = {}
    for item in items:
        classifier = _part_classifier(item["sk"])
        if classifier is None:
            continue
        ledger_parts[classifier] = str(item.get("status"))
        if item.get("status") == "REJECTED":
            rejections[classifier] = str(item.get("reason", "?"))
    jumio_parts: dict[str, JumioPart] = {}
    pages = 0
    for credential in (jumio or {}).get("credentials", {}).values():
        pages += int(credential.get("pages", 0))
        for classifier, counters in credential.get("parts", {}).items():
            jumio_parts[classifier] = JumioPart(
                count=int(counters.get("count", 0)),
                adds=int(counters.get("adds", 0)),
                updates=int(counters.get("updates", 0)),
            )
    status = head.get("status")
    decision = head.get("decision") or {}
    return SessionView(
        label=session.label,
        workflow_execution_id=session.workflow_execution_id,
        parts_sent=PARTS,
        ledger_status=None if status is None else str(status),
        registered_at=_int_or_none(head.get("registeredAt")),
        ended_at=_int_or_none(head.get("outcomeAt")),
        ledger_parts=ledger_parts,
        rejections=rejections,
        finalize_count=int((jumio or {}).get("finalizeCount", 0)),
        jumio_parts=jumio_parts,
        document_pages=pages,
        pages_sent=0,
        sent_before_registration=sent_early,
        reference=session.reference,
        decision=decision.get("type"),
        verdict_source=head.get("verdictSource"),
        decided_at=_int_or_none(head.get("decidedAt")),
        end_state=end,
        events=events,
        callback="" if callback is None else callback.description,
        outcome_error=None if head.get("outcomeError") is None else str(head["outcomeError"]),
    )


def session_views(
    table: Any,
    sfn: Any,
    admin_state: dict[str, Any],
    sessions: list[SoakSession],
    sent_early: dict[str, tuple[str, ...]],
    events: dict[str, tuple[EventSeen, ...]],
    callbacks: dict[str, CallbackFate],
) -> list[SessionView]:
    """Every session, from the ledger, Step Functions, the simulator's `GET /__admin/state`,
    the events received and the simulator's callback log."""
    executions = admin_state.get("workflowExecutions", {})
    views = []
    for s in sessions:
        wf = s.workflow_execution_id
        items = ledger_items(table, wf)
        views.append(
            session_view(
                s,
                items,
                executions.get(wf),
                sent_early.get(wf, ()),
                end=end_state(sfn, execution_arn(items)),
                events=events.get(wf, ()),
                callback=callbacks.get(wf),
            )
        )
    return views


def jumio_requests(entries: list[dict[str, Any]]) -> list[JumioRequest]:
    """The simulator's request log as JumioRequest rows."""
    return [
        JumioRequest(e.get("route"), e["method"], e["path"], e.get("status"), e.get("fault"))
        for e in entries
    ]


# --- dead-letter queues ------------------------------------------------------------------


def dead_letter_queues(sqs: Any, queues: dict[str, str]) -> dict[str, str]:
    """Logical id → URL of every queue that another queue's redrive policy targets."""
    arn_of = {
        logical_id: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        for logical_id, url in queues.items()
    }
    targets = set()
    for url in queues.values():
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
        policy = attributes.get("Attributes", {}).get("RedrivePolicy")
        if policy:
            targets.add(json.loads(policy)["deadLetterTargetArn"])
    return {logical_id: queues[logical_id] for logical_id, arn in arn_of.items() if arn in targets}


def _about(
    queue: str, body: str, sessions: dict[str, SoakSession]
) -> tuple[str | None, str | None]:
    """Which session (and part) a dead letter is about, read from ids in its body only."""
    text = unquote_plus(body)
    workflow_id = next((wf for wf in sessions if wf in text), None)
    if workflow_id is None:
        return None, None
    if queue in _DLQ_PART:
        return workflow_id, _DLQ_PART[queue]
    try:
        key = unquote_plus(json.loads(body)["Records"][0]["s3"]["object"]["key"])
    except (ValueError, KeyError, IndexError, TypeError):
        return workflow_id, None
    return workflow_id, key.rsplit("/", 1)[-1].split(".", 1)[0]


def read_dead_letters(
    sqs: Any, dlqs: dict[str, str], sessions: list[SoakSession]
) -> list[DeadLetter]:
    """Every message of every DLQ, with its `reason` attribute; they are left in the queue."""
    by_id = {s.workflow_execution_id: s for s in sessions}
    letters = []
    for logical_id, url in sorted(dlqs.items()):
        while True:
            messages = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=0,
                VisibilityTimeout=_RECEIVE_HIDE_SECONDS,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                break
            for message in messages:
                reason = message.get("MessageAttributes", {}).get("reason", {}).get("StringValue")
                workflow_id, part = _about(logical_id, message["Body"], by_id)
                letters.append(DeadLetter(logical_id, reason or NO_REASON, workflow_id, part))
    return letters


def queue_depths(sqs: Any, queues: dict[str, str]) -> dict[str, tuple[int, int]]:
    """Logical id → (visible, in flight) messages, for what is still moving at the end."""
    depths = {}
    for logical_id, url in sorted(queues.items()):
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        depths[logical_id] = (
            int(attributes["ApproximateNumberOfMessages"]),
            int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        )
    return depths
