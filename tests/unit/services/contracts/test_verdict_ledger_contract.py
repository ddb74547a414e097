"""The verdict's ledger methods, one contract for InMemoryLedger and the DynamoDB Ledger.

Callbacks, the verdict wait's token and its claim, polls, the decision and its publication
(adapters/ledger.py, "# --- verdict ---"), and the claim that ends the parts wait early. The
races are played as the two possible orders, one step at a time: moto's DynamoDB is not atomic
across threads, and the order is what the conditions decide.
"""

from __future__ import annotations

import uuid

import pytest

from jumio_pipeline.domain.session_state import CallbackRecorded, SessionStatus
from jumio_pipeline.domain.verdict import (
    CapabilityDecision,
    Decision,
    DecisionType,
    VerdictSource,
)
from jumio_pipeline.domain.workflow_status import WorkflowStatus
from tests.unit.services.contracts.conftest import NOW, land_all, session_of

PROCESSED = WorkflowStatus.PROCESSED
PASSED = Decision(
    DecisionType.PASSED,
    "PASSED",
    12,
    {
        "usability": (
            CapabilityDecision(DecisionType.PASSED, "OK"),
            CapabilityDecision(DecisionType.PASSED, "OK"),
        ),
        "similarity": (CapabilityDecision(DecisionType.PASSED, "MATCH"),),
        "liveness": (CapabilityDecision(DecisionType.NOT_EXECUTED),),
        "watchlistScreening": (),  # no credential it judges: an empty list
    },
)
REJECTED = Decision(DecisionType.REJECTED, "MANIPULATED_DOCUMENT", 96, {})


def finalized(ledger, ids, *, at: int = NOW):
    """A session that Jumio took the finalize of, as the pipeline records it."""
    session = session_of(ids)
    ledger.register(session, now=at - 600)
    ledger.mark_finalizing(ids.workflow)
    ledger.record_outcome(ids.workflow, SessionStatus.FINALIZED, now=at)
    return session


# --- callbacks ---------------------------------------------------------------------------------


def test_the_first_callback_counts_a_repeat_is_a_duplicate_another_status_is_kept_aside(
    ledger, probe, ids
):
    finalized(ledger, ids)

    assert ledger.record_callback(ids.workflow, PROCESSED, now=NOW + 5) is CallbackRecorded.NEW
    assert ledger.record_callback(ids.workflow, PROCESSED, now=NOW + 9) is (
        CallbackRecorded.DUPLICATE
    )
    assert ledger.record_callback(ids.workflow, WorkflowStatus.TOKEN_EXPIRED, now=NOW + 9) is (
        CallbackRecorded.CONFLICTING
    )

    assert ledger.get(ids.workflow).callback_status is PROCESSED
    assert probe.verdict_item(ids.workflow) == {
        "callbackStatus": "PROCESSED",
        "callbackReceivedAt": NOW + 5,
        "conflictingCallbackStatus": "TOKEN_EXPIRED",
    }


def test_a_callback_for_an_execution_never_registered_is_unknown_and_leaves_nothing(ledger):
    wf = str(uuid.uuid4())

    assert ledger.record_callback(wf, PROCESSED, now=NOW) is CallbackRecorded.UNKNOWN_SESSION
    assert ledger.get(wf) is None


# --- the verdict wait's token and the claim on its signal -----------------------------------------


@pytest.mark.parametrize(
    "status",
    [
        SessionStatus.REGISTERED,
        SessionStatus.FINALIZING,
        SessionStatus.EXPIRED,
        SessionStatus.FAILED,
        SessionStatus.DELETED,
    ],
)
def test_the_verdict_token_is_stored_only_while_the_session_is_finalized(
    ledger, probe, ids, status
):
    ledger.register(session_of(ids), now=NOW)
    if status is SessionStatus.FINALIZING:
        ledger.mark_finalizing(ids.workflow)
    elif status is SessionStatus.DELETED:
        ledger.close_for_erasure(ids.workflow, "req-1")
    elif status is not SessionStatus.REGISTERED:
        ledger.record_outcome(ids.workflow, status, now=NOW)

    assert ledger.store_verdict_token(ids.workflow, "verdict-1") is False
    assert ledger.store_verdict_token(str(uuid.uuid4()), "verdict-1") is False
    assert "verdictTaskToken" not in probe.verdict_item(ids.workflow)


def test_callback_before_the_token_the_token_wins_the_claim_once(ledger, probe, ids):
    finalized(ledger, ids)

    ledger.record_callback(ids.workflow, PROCESSED, now=NOW)
    assert ledger.claim_verdict_signal(ids.workflow, now=NOW) is None  # no wait yet
    assert ledger.store_verdict_token(ids.workflow, "verdict-1") is True
    claims = [ledger.claim_verdict_signal(ids.workflow, now=NOW + 1) for _ in range(3)]

    assert claims == [("verdict-1", PROCESSED), None, None]
    assert probe.verdict_item(ids.workflow)["verdictSignalledAt"] == NOW + 1


def test_token_before_the_callback_the_callback_wins_the_claim_once(ledger, probe, ids):
    finalized(ledger, ids)

    assert ledger.store_verdict_token(ids.workflow, "verdict-1") is True
    assert ledger.claim_verdict_signal(ids.workflow, now=NOW) is None  # no callback yet
    ledger.record_callback(ids.workflow, WorkflowStatus.PROCESSED, now=NOW)
    claims = [ledger.claim_verdict_signal(ids.workflow, now=NOW + 2) for _ in range(3)]

    assert claims == [("verdict-1", PROCESSED), None, None]
    assert probe.verdict_item(ids.workflow)["verdictSignalledAt"] == NOW + 2


def test_a_callback_that_woke_one_wait_does_not_wake_the_next(ledger, probe, ids):
    """A stale or forged callback cannot loop the session: the next wait ends on its poll."""
    finalized(ledger, ids)
    ledger.record_callback(ids.workflow, PROCESSED, now=NOW)
    ledger.store_verdict_token(ids.workflow, "verdict-1")
    assert ledger.claim_verdict_signal(ids.workflow) == ("verdict-1", PROCESSED)

    assert ledger.store_verdict_token(ids.workflow, "verdict-2") is True

    assert "verdictSignalledAt" in probe.verdict_item(ids.workflow)
    assert ledger.claim_verdict_signal(ids.workflow) is None


def test_a_released_verdict_claim_can_be_claimed_again(ledger, probe, ids):
    finalized(ledger, ids)
    ledger.record_callback(ids.workflow, PROCESSED, now=NOW)
    ledger.store_verdict_token(ids.workflow, "verdict-1")
    ledger.claim_verdict_signal(ids.workflow)

    ledger.release_verdict_claim(ids.workflow)

    assert "verdictSignalledAt" not in probe.verdict_item(ids.workflow)
    assert ledger.claim_verdict_signal(ids.workflow) == ("verdict-1", PROCESSED)
    assert ledger.claim_verdict_signal(str(uuid.uuid4())) is None


def test_an_erased_session_keeps_no_verdict_token(ledger, probe, ids):
    finalized(ledger, ids)
    ledger.store_verdict_token(ids.workflow, "verdict-1")
    ledger.record_callback(ids.workflow, PROCESSED, now=NOW)
    ledger.close_for_erasure(ids.workflow, "req-1")

    ledger.scrub_erased_session(ids.workflow, "req-1", now=NOW)

    assert "verdictTaskToken" not in probe.verdict_item(ids.workflow)
    assert ledger.claim_verdict_signal(ids.workflow) is None


# --- polls -------------------------------------------------------------------------------------


def test_each_poll_is_counted_with_the_last_status_read(ledger, probe, ids):
    finalized(ledger, ids)

    ledger.record_poll(ids.workflow, WorkflowStatus.ACQUIRED, now=NOW + 40)
    ledger.record_poll(ids.workflow, WorkflowStatus.PROCESSED, now=NOW + 60)

    assert probe.verdict_item(ids.workflow) == {
        "lastPolledStatus": "PROCESSED",
        "lastPolledAt": NOW + 60,
        "polls": 2,
    }
    wf = str(uuid.uuid4())
    ledger.record_poll(wf, WorkflowStatus.ACQUIRED, now=NOW)
    assert ledger.get(wf) is None


# --- the decision and its publication --------------------------------------------------------------


def test_the_first_decision_is_kept_with_its_source_and_time_and_ends_the_verdict_wait(
    ledger, probe, ids
):
    finalized(ledger, ids, at=NOW - 100)
    ledger.store_verdict_token(ids.workflow, "verdict-1")

    first = ledger.record_decision(ids.workflow, PASSED, VerdictSource.CALLBACK, now=NOW)
    second = ledger.record_decision(ids.workflow, REJECTED, VerdictSource.POLLING, now=NOW + 9)

    assert first == second == PASSED
    record = ledger.get(ids.workflow)
    assert (record.decision, record.verdict_source, record.decided_at) == (
        PASSED,
        VerdictSource.CALLBACK,
        NOW,
    )
    assert (record.status, record.finalized_at) == (SessionStatus.FINALIZED, NOW - 100)
    assert probe.verdict_item(ids.workflow) == {
        "decision": PASSED.as_record(),
        "decidedAt": NOW,
        "verdictSource": "callback",
    }


@pytest.mark.parametrize("erased", [False, True], ids=["unregistered", "erased"])
def test_no_decision_is_kept_for_a_session_unknown_or_erased(ledger, ids, erased):
    if erased:
        finalized(ledger, ids)
        ledger.close_for_erasure(ids.workflow, "req-1")

    assert ledger.record_decision(ids.workflow, PASSED, VerdictSource.POLLING, now=NOW) is None

    record = ledger.get(ids.workflow)
    assert record is None if not erased else record.decision is None


def test_a_decision_recorded_before_an_erasure_is_not_returned_after_it(ledger, ids):
    finalized(ledger, ids)
    ledger.record_decision(ids.workflow, PASSED, VerdictSource.POLLING, now=NOW)
    ledger.close_for_erasure(ids.workflow, "req-1")

    assert ledger.record_decision(ids.workflow, REJECTED, VerdictSource.POLLING) is None
    assert ledger.get(ids.workflow).decision == PASSED


def test_the_publication_is_noted_once(ledger, ids):
    finalized(ledger, ids)
    assert ledger.get(ids.workflow).verdict_published is False

    assert ledger.mark_verdict_published(ids.workflow, now=NOW) is True
    assert ledger.mark_verdict_published(ids.workflow, now=NOW + 1) is False

    assert ledger.get(ids.workflow).verdict_published is True
    assert ledger.mark_verdict_published(str(uuid.uuid4())) is False


def test_a_session_that_is_not_finalized_has_no_finalized_at(ledger, ids):
    ledger.register(session_of(ids), now=NOW)
    ledger.record_outcome(ids.workflow, SessionStatus.EXPIRED, now=NOW)

    record = ledger.get(ids.workflow)
    assert (record.finalized_at, record.decided_at, record.decision) == (None, None, None)
    assert (record.callback_status, record.verdict_source) == (None, None)


# --- ending the parts wait early -----------------------------------------------------------------


def test_ending_the_parts_wait_takes_its_token_once(ledger, ids):
    ledger.register(session_of(ids), now=NOW)
    assert ledger.claim_parts_wait_end(ids.workflow, now=NOW) is None  # no wait yet
    ledger.store_task_token(ids.workflow, "parts-1")

    claims = [ledger.claim_parts_wait_end(ids.workflow, now=NOW) for _ in range(2)]

    assert claims == ["parts-1", None]
    assert ledger.get(ids.workflow).completion_signalled is True
    ledger.release_completion_claim(ids.workflow)  # the failure could not be sent
    assert ledger.claim_parts_wait_end(ids.workflow, now=NOW) == "parts-1"
    assert ledger.claim_parts_wait_end(str(uuid.uuid4())) is None


def test_ending_the_parts_wait_excludes_the_completion_signal(ledger, ids):
    session = session_of(ids)
    ledger.register(session, now=NOW)
    ledger.store_task_token(ids.workflow, "parts-1")

    assert ledger.claim_parts_wait_end(ids.workflow, now=NOW) == "parts-1"
    land_all(ledger, session)

    assert ledger.claim_completion_signal(ids.workflow, now=NOW) is None


def test_the_completion_signal_excludes_ending_the_parts_wait(ledger, ids):
    session = session_of(ids)
    ledger.register(session, now=NOW)
    ledger.store_task_token(ids.workflow, "parts-1")
    land_all(ledger, session)

    assert ledger.claim_completion_signal(ids.workflow, now=NOW) == "parts-1"

    assert ledger.claim_parts_wait_end(ids.workflow, now=NOW) is None


@pytest.mark.parametrize("status", [SessionStatus.FINALIZING, SessionStatus.DELETED])
def test_the_parts_wait_is_ended_early_only_while_the_session_is_registered(ledger, ids, status):
    ledger.register(session_of(ids), now=NOW)
    ledger.store_task_token(ids.workflow, "parts-1")
    if status is SessionStatus.FINALIZING:
        ledger.mark_finalizing(ids.workflow)
    else:
        ledger.close_for_erasure(ids.workflow, "req-1")

    assert ledger.claim_parts_wait_end(ids.workflow, now=NOW) is None
    assert ledger.get(ids.workflow).completion_signalled is False
