"""RecordDecision and the verdict event: the decision is read once, kept once, published once.

The details are the Jumio simulator's, with fake personal data and decoys in every
capability's ``data`` (tests/unit/verdict_details.py); neither the ledger, the step's output
nor the published event may hold any of it.
"""

from __future__ import annotations

import pytest

from jumio_pipeline.domain.errors import JumioUnavailable, SessionDeleted, SessionNotRegistered
from jumio_pipeline.domain.session_state import SessionStatus
from jumio_pipeline.domain.verdict import DecisionType, Verdict, VerdictSource, parse_decision
from jumio_pipeline.domain.workflow_status import WorkflowStatus
from tests.support.fakes import jumio_unavailable
from tests.unit.services.conftest import Ids
from tests.unit.verdict_details import assert_no_data_in, details_document


class EventBusDown(RuntimeError):
    """EventBridge refused the entry."""


def processed(world, kind: str = "PASSED", *, by_callback: bool = True) -> dict:
    """A finalized session Jumio processed; its details scripted; returns them."""
    world.finalized()
    world.status.statuses[world.ids.workflow] = WorkflowStatus.PROCESSED
    details = details_document(kind, world.ids)
    world.status.details[world.ids.workflow] = details
    if by_callback:
        world.callbacks.receive(world.callback(WorkflowStatus.PROCESSED))
    return details


def details_reads(world) -> int:
    return len(world.status.succeeded("details"))


@pytest.mark.parametrize(
    ("kind", "verdict"),
    [
        ("PASSED", Verdict.PASSED),
        ("REJECTED", Verdict.REJECTED),
        ("WARNING", Verdict.WARNING),
        ("NOT_EXECUTED", Verdict.WARNING),
    ],
)
def test_the_decision_is_kept_and_published_once(world, kind, verdict):
    details = processed(world, kind)
    world.clock.advance(30)

    outcome = world.decisions.decide(world.ids.workflow)

    expected = parse_decision(details)
    assert outcome.to_output() == {
        "verdict": verdict.value,
        "decision": kind,
        "label": expected.label,
        "source": "callback",
        "published": True,
    }
    record = world.ledger.get(world.ids.workflow)
    assert (record.decision, record.verdict_source, record.decided_at) == (
        expected,
        VerdictSource.CALLBACK,
        int(world.clock()),
    )
    assert record.verdict_published is True
    [event] = world.verdict_events.published
    assert (event["workflowExecutionId"], event["verdict"], event["decision"]) == (
        world.ids.workflow,
        verdict.value,
        expected.as_record(),
    )
    assert details_reads(world) == 1


def test_nothing_jumio_extracted_reaches_the_ledger_the_output_or_the_event(world):
    details = processed(world, "REJECTED")

    output = world.decisions.decide(world.ids.workflow).to_output()

    assert_no_data_in(output, details)
    assert_no_data_in(world.verdict_events.published, details)
    assert_no_data_in(world.ledger.verdict_item(world.ids.workflow), details)


def test_a_decision_found_by_polling_says_so(world):
    processed(world, by_callback=False)

    outcome = world.decisions.decide(world.ids.workflow)

    assert outcome.source is VerdictSource.POLLING
    assert world.verdict_events.published[0]["source"] == "polling"


def test_the_decision_ends_the_verdict_wait_token(world):
    processed(world)
    world.verdict_wait.await_verdict(world.ids.workflow, "verdict-1")

    world.decisions.decide(world.ids.workflow)

    assert world.ledger.verdict_task_token(world.ids.workflow) is None


def test_a_retry_after_the_event_failed_publishes_once_more_without_reading_jumio_again(world):
    processed(world)
    world.verdict_events.fail(EventBusDown("FailedEntryCount 1"))
    with pytest.raises(EventBusDown):
        world.decisions.decide(world.ids.workflow)
    record = world.ledger.get(world.ids.workflow)
    assert (record.decision is not None, record.verdict_published) == (True, False)

    outcome = world.decisions.decide(world.ids.workflow)

    assert outcome.published is True
    assert len(world.verdict_events.published) == 1
    assert world.verdict_events.attempts == 2
    assert details_reads(world) == 1


def test_a_decision_already_published_is_neither_read_nor_sent_again(world):
    processed(world)
    first = world.decisions.decide(world.ids.workflow)

    again = world.decisions.decide(world.ids.workflow)

    assert (again.decision, again.source, again.published) == (first.decision, first.source, False)
    assert len(world.verdict_events.published) == 1
    assert details_reads(world) == 1


def test_a_decision_already_recorded_is_not_read_from_jumio_again(world):
    processed(world, "PASSED")
    kept = parse_decision(details_document("REJECTED", world.ids))
    world.ledger.record_decision(world.ids.workflow, kept, VerdictSource.POLLING)

    outcome = world.decisions.decide(world.ids.workflow)

    assert outcome.decision == kept
    assert outcome.source is VerdictSource.POLLING
    assert details_reads(world) == 0
    assert world.verdict_events.published[0]["verdict"] == "REJECTED"


def test_details_without_a_decision_are_jumio_not_ready_and_nothing_is_kept(world):
    processed(world)
    world.status.details[world.ids.workflow] = {
        "workflow": {"id": world.ids.workflow, "status": "ACQUIRED"},
        "decision": {"type": "SOON", "details": {"label": "Ysolde-Kq4"}},
    }

    with pytest.raises(JumioUnavailable) as unavailable:
        world.decisions.decide(world.ids.workflow)

    assert unavailable.value.operation == "details"
    assert "decision.type" in str(unavailable.value)
    assert "SOON" not in str(unavailable.value)
    assert "Ysolde" not in str(unavailable.value)
    assert world.ledger.get(world.ids.workflow).decision is None
    assert world.verdict_events.published == []


def test_details_jumio_does_not_answer_leave_the_decision_for_the_retry(world):
    processed(world)
    world.status.fail("details", jumio_unavailable(operation="details"))

    with pytest.raises(JumioUnavailable):
        world.decisions.decide(world.ids.workflow)
    outcome = world.decisions.decide(world.ids.workflow)

    assert outcome.decision.type is DecisionType.PASSED
    assert len(world.verdict_events.published) == 1


def test_an_erased_or_unknown_session_gets_no_decision(world):
    processed(world)
    world.end(SessionStatus.DELETED)

    with pytest.raises(SessionDeleted):
        world.decisions.decide(world.ids.workflow)
    with pytest.raises(SessionNotRegistered):
        world.decisions.decide(Ids().workflow)

    assert world.status.calls == []
    assert world.verdict_events.published == []


def test_a_session_erased_while_its_details_were_read_keeps_no_decision(world):
    processed(world)
    jumio = world.status

    class ErasedMeanwhile:
        def workflow_details(self, account_id: str, workflow_execution_id: str) -> dict:
            details = jumio.workflow_details(account_id, workflow_execution_id)
            world.ledger.close_for_erasure(workflow_execution_id, "erasure-request-1")
            return details

    decisions = type(world.decisions)(
        ledger=world.ledger, details=ErasedMeanwhile(), publisher=world.publisher, clock=world.clock
    )

    with pytest.raises(SessionDeleted):
        decisions.decide(world.ids.workflow)

    assert world.ledger.get(world.ids.workflow).decision is None
    assert world.verdict_events.published == []


# --- an expired session's event ----------------------------------------------------------------


def test_an_expired_session_is_published_once_without_a_decision(world):
    world.register()
    world.end(SessionStatus.EXPIRED)

    assert world.publisher.expired(world.ids.workflow) is True
    assert world.publisher.expired(world.ids.workflow) is False

    [event] = world.verdict_events.published
    assert (event["verdict"], event["decision"], event["source"]) == ("EXPIRED", None, None)
    assert world.ledger.get(world.ids.workflow).verdict_published is True


def test_an_expired_event_that_failed_is_sent_by_the_retry(world):
    world.register()
    world.end(SessionStatus.EXPIRED)
    world.verdict_events.fail(EventBusDown("FailedEntryCount 1"))

    with pytest.raises(EventBusDown):
        world.publisher.expired(world.ids.workflow)
    assert world.publisher.expired(world.ids.workflow) is True

    assert [event["verdict"] for event in world.verdict_events.published] == ["EXPIRED"]


@pytest.mark.parametrize(
    "status",
    [
        SessionStatus.REGISTERED,
        SessionStatus.FINALIZING,
        SessionStatus.FINALIZED,
        SessionStatus.FAILED,
        SessionStatus.DELETED,
    ],
)
def test_only_an_expired_session_is_published_as_expired(world, status):
    world.register()
    if status is not SessionStatus.REGISTERED:
        world.end(status)

    assert world.publisher.expired(world.ids.workflow) is False
    assert world.publisher.expired(Ids().workflow) is False
    assert world.verdict_events.attempts == 0
