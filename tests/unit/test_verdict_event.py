"""The "Verification Completed" event detail: its exact fields, and nothing a subscriber must
not see (tokens, hrefs, anything Jumio extracted)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

import pytest

from jumio_pipeline.domain.registration import parse_registration
from jumio_pipeline.domain.session_state import SessionRecord, SessionStatus
from jumio_pipeline.domain.verdict import Verdict, VerdictSource, parse_decision
from jumio_pipeline.domain.verdict_event import (
    DETAIL_TYPE,
    EVENT_SOURCE,
    SCHEMA_VERSION,
    verdict_event,
)
from tests.unit.services.conftest import Ids, registration
from tests.unit.verdict_details import assert_no_data_in, details_document

KEYS = {
    "schemaVersion",
    "workflowExecutionId",
    "accountId",
    "reference",
    "verdict",
    "decision",
    "source",
    "finalizedAt",
    "decidedAt",
    "publishedAt",
}
FINALIZED_AT = 1_714_557_600  # 2024-05-01T10:00:00Z
DECIDED_AT = FINALIZED_AT + 75
PUBLISHED_AT = DECIDED_AT + 0.25


def session_record(ids: Ids, status: SessionStatus = SessionStatus.FINALIZED, **fields):
    return SessionRecord(
        session=parse_registration(registration(ids)),
        status=status,
        pending_parts=frozenset(),
        has_task_token=False,
        completion_signalled=True,
        execution_arn=None,
        **fields,
    )


def _epoch(text: str) -> float:
    assert text.endswith("Z")
    return datetime.fromisoformat(text.removesuffix("Z") + "+00:00").timestamp()


@pytest.mark.parametrize(
    ("kind", "verdict"),
    [
        ("PASSED", Verdict.PASSED),
        ("REJECTED", Verdict.REJECTED),
        ("WARNING", Verdict.WARNING),
        ("NOT_EXECUTED", Verdict.WARNING),
    ],
)
def test_a_decided_session_is_published_with_its_decision_and_times(kind, verdict):
    ids = Ids()
    details = details_document(kind, ids)
    decision = parse_decision(details)
    record = session_record(
        ids,
        decision=decision,
        verdict_source=VerdictSource.CALLBACK,
        finalized_at=FINALIZED_AT,
        decided_at=DECIDED_AT,
    )

    event = verdict_event(record, None, now=PUBLISHED_AT)

    assert set(event) == KEYS
    assert event["schemaVersion"] == SCHEMA_VERSION == "1"
    assert (event["workflowExecutionId"], event["accountId"], event["reference"]) == (
        ids.workflow,
        ids.account,
        "onboarding-42",
    )
    assert (event["verdict"], event["decision"], event["source"]) == (
        verdict.value,
        decision.as_record(),
        "callback",
    )
    assert event["finalizedAt"] == "2024-05-01T10:00:00Z"
    assert [_epoch(event[k]) for k in ("finalizedAt", "decidedAt", "publishedAt")] == [
        FINALIZED_AT,
        DECIDED_AT,
        PUBLISHED_AT,
    ]
    assert json.loads(json.dumps(event)) == event
    assert_no_data_in(event, details)


def test_an_expired_session_is_published_without_a_decision():
    record = session_record(Ids(), SessionStatus.EXPIRED)

    event = verdict_event(record, Verdict.EXPIRED, now=PUBLISHED_AT)

    assert set(event) == KEYS
    assert (event["verdict"], event["decision"], event["source"]) == ("EXPIRED", None, None)
    assert (event["finalizedAt"], event["decidedAt"]) == (None, None)
    assert _epoch(event["publishedAt"]) == PUBLISHED_AT


def test_an_event_needs_a_decision_or_a_verdict():
    with pytest.raises(ValueError, match="needs a decision"):
        verdict_event(session_record(Ids()), None, now=PUBLISHED_AT)


def test_no_token_or_href_of_the_session_is_in_the_event():
    ids = Ids()
    record = session_record(
        ids, decision=parse_decision(details_document("PASSED", ids)), decided_at=DECIDED_AT
    )
    secrets = {
        value
        for credential in record.session.credentials.values()
        for value in (
            credential.token,
            credential.workflow_execution_href,
            *credential.parts.values(),
        )
        if value
    }
    assert secrets

    text = json.dumps(verdict_event(record, None, now=PUBLISHED_AT))

    assert [secret for secret in secrets if secret in text] == []
    assert "token" not in text.lower()


def test_a_session_without_a_reference_is_published_with_reference_null():
    ids = Ids()
    record = session_record(ids, decision=parse_decision(details_document("PASSED", ids)))
    record = replace(record, session=replace(record.session, reference=None))

    assert verdict_event(record, None, now=PUBLISHED_AT)["reference"] is None


def test_the_event_names_this_pipeline_as_its_source():
    assert (EVENT_SOURCE, DETAIL_TYPE) == ("jumio-capture-pipeline", "Verification Completed")
