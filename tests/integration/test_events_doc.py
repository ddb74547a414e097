"""docs/events.md is a contract other teams build on: its field tables must name exactly what
the pipeline publishes, and its example rule must deliver what it says it delivers.

Why here: a subscriber copies the YAML and trusts the tables. The YAML is provisioned by the
local cloud next to the pipeline's own stack and fed by the pipeline's own publisher; the
tables are compared with what `verdict_event` builds for a decided and an expired session.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import boto3

from jumio_pipeline.adapters.verdict_events import EventBridgeVerdicts
from jumio_pipeline.domain.session import Session
from jumio_pipeline.domain.session_state import SessionRecord, SessionStatus
from jumio_pipeline.domain.verdict import (
    CapabilityDecision,
    Decision,
    DecisionType,
    Verdict,
    VerdictSource,
)
from jumio_pipeline.domain.verdict_event import DETAIL_TYPE, EVENT_SOURCE, verdict_event
from local_cloud.provisioner import provision

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"
WF = "5d15fc80-a14a-435f-9334-5541ffe00b7e"


def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _section(heading: str) -> str:
    """The text under a markdown heading, up to the next heading of any level."""
    text = _doc()
    start = text.index(f"\n{heading}\n") + len(heading) + 2
    following = re.search(r"\n#{1,6} ", text[start:])
    return text[start : start + following.start()] if following else text[start:]


def _table_fields(heading: str) -> set[str]:
    """The backticked names in the first column of the table under a heading."""
    return set(re.findall(r"^\| `([A-Za-z]+)` \|", _section(heading), re.M))


def _block(language: str) -> str:
    (block,) = re.findall(rf"```{language}\n(.*?)```", _doc(), re.S)
    return block


def _record(*, decided: bool) -> SessionRecord:
    session = Session(
        account_id="9e4c8f7a-52a8-4b27-9a0b-0a2c0b7c1d11",
        workflow_execution_id=WF,
        credentials={},
        required_parts=frozenset(),
        issued_at=datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
        token_expires_at=1_800_000_000,
        reference="onboarding-42",
    )
    decision = Decision(
        type=DecisionType.REJECTED,
        label="MANIPULATED_DOCUMENT",
        risk_score=96,
        capabilities={
            "imageChecks": (CapabilityDecision(DecisionType.REJECTED, "MANIPULATED_DOCUMENT"),),
            "similarity": (CapabilityDecision(DecisionType.PASSED, "MATCH"),),
        },
    )
    return SessionRecord(
        session=session,
        status=SessionStatus.FINALIZED if decided else SessionStatus.EXPIRED,
        pending_parts=frozenset(),
        has_task_token=False,
        completion_signalled=True,
        execution_arn=None,
        decision=decision if decided else None,
        verdict_source=VerdictSource.CALLBACK if decided else None,
        finalized_at=1_772_446_502 if decided else None,
        decided_at=1_772_446_541 if decided else None,
    )


def test_the_detail_table_names_exactly_the_fields_published() -> None:
    decided = verdict_event(_record(decided=True), None, now=1_772_446_541.3)
    expired = verdict_event(_record(decided=False), Verdict.EXPIRED, now=1_772_446_541.3)

    assert _table_fields("## The detail") == set(decided) == set(expired)
    assert _table_fields("### `decision`") == set(decided["decision"])
    assert expired["decision"] is None
    assert expired["source"] is None
    items = [item for group in decided["decision"]["capabilities"].values() for item in group]
    assert {key for item in items for key in item} == {"type", "label"}


def test_the_example_has_the_shape_the_pipeline_publishes() -> None:
    example = json.loads(_block("json"))
    published = verdict_event(_record(decided=True), None, now=1_772_446_541.3)

    assert (example["source"], example["detail-type"]) == (EVENT_SOURCE, DETAIL_TYPE)
    assert set(example["detail"]) == set(published)
    assert set(example["detail"]["decision"]) == set(published["decision"])
    assert example["detail"]["finalizedAt"] == published["finalizedAt"]
    assert example["detail"]["decidedAt"] == published["decidedAt"]
    assert example["detail"]["publishedAt"].endswith("Z")


def test_the_example_rule_delivers_what_the_doc_says(stack, tmp_path) -> None:
    bus = stack.outputs["VerdictBusName"]
    template = tmp_path / "subscriber.yaml"
    template.write_text(_block("yaml"), encoding="utf-8")
    subscriber = provision(template, stack_name="review", parameters={"VerdictBusName": bus})

    publisher = EventBridgeVerdicts(bus)
    rejected = verdict_event(_record(decided=True), None, now=1_772_446_541.3)
    publisher.publish(rejected)
    publisher.publish({**rejected, "workflowExecutionId": "passed-one", "verdict": "PASSED"})

    sqs = boto3.client("sqs")
    messages = sqs.receive_message(
        QueueUrl=subscriber.physical("ReviewQueue"), MaxNumberOfMessages=10
    ).get("Messages", [])
    assert [json.loads(m["Body"])["detail"] for m in messages] == [rejected]
