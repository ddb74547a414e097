"""CallbackReceiver: a callback is recorded once and wakes the one wait it ends, at most once.

Jumio's callbacks are hints: unsigned, possibly late, repeated or out of order. The outcomes
(ACCEPTED, DUPLICATE, CONFLICTING, ERASED) and the refusals (unknown execution, another
account) are what the callback function answers; the waits it wakes are the verdict wait
(by the verdict signal) and, when Jumio reports an expiry before finalize, the parts wait.
"""

from __future__ import annotations

import pytest

from jumio_pipeline.domain.errors import InvalidMessage
from jumio_pipeline.domain.session_state import SessionStatus
from jumio_pipeline.domain.workflow_status import WorkflowStatus
from jumio_pipeline.services.verdict import (
    EXPIRED_AT_JUMIO_ERROR,
    CallbackOutcome,
    CallbackReceipt,
    UnknownExecution,
)
from tests.support.fakes import TaskFailure
from tests.unit.services.conftest import Ids, required_parts

PROCESSED = WorkflowStatus.PROCESSED
EXPIRIES = [WorkflowStatus.SESSION_EXPIRED, WorkflowStatus.TOKEN_EXPIRED]


def test_a_callback_for_a_waiting_session_is_accepted_and_wakes_the_wait(world):
    world.finalized()
    world.verdict_wait.await_verdict(world.ids.workflow, "verdict-1")

    receipt = world.callbacks.receive(world.callback(PROCESSED))

    assert receipt == CallbackReceipt(CallbackOutcome.ACCEPTED, PROCESSED, woke_verdict_wait=True)
    assert world.executions.signals == [
        ("verdict-1", {"workflowExecutionId": world.ids.workflow, "status": "PROCESSED"})
    ]
    assert world.ledger.get(world.ids.workflow).callback_status is PROCESSED
    assert world.ledger.verdict_item(world.ids.workflow)["callbackReceivedAt"] == int(world.clock())


def test_a_callback_before_the_wait_is_kept_for_the_wait_to_find(world):
    world.finalized()

    receipt = world.callbacks.receive(world.callback(PROCESSED))

    assert (receipt.outcome, receipt.woke_verdict_wait) == (CallbackOutcome.ACCEPTED, False)
    assert world.executions.signal_attempts == 0
    assert world.verdict_wait.await_verdict(world.ids.workflow, "verdict-1") is True
    assert [token for token, _ in world.executions.signals] == ["verdict-1"]


def test_a_repeated_callback_is_a_duplicate_and_wakes_nothing_again(world):
    world.finalized()
    world.verdict_wait.await_verdict(world.ids.workflow, "verdict-1")
    world.callbacks.receive(world.callback(PROCESSED))

    receipt = world.callbacks.receive(world.callback(PROCESSED))

    assert receipt == CallbackReceipt(CallbackOutcome.DUPLICATE, PROCESSED)
    assert world.executions.signal_attempts == 1


def test_a_repeated_callback_wakes_the_wait_when_the_first_could_not(world):
    world.finalized()
    world.verdict_wait.await_verdict(world.ids.workflow, "verdict-1")
    world.executions.fail_signals_with = ConnectionError("step functions throttled")
    with pytest.raises(ConnectionError):
        world.callbacks.receive(world.callback(PROCESSED))
    world.executions.fail_signals_with = None

    receipt = world.callbacks.receive(world.callback(PROCESSED))

    assert (receipt.outcome, receipt.woke_verdict_wait) == (CallbackOutcome.DUPLICATE, True)
    assert [token for token, _ in world.executions.signals] == ["verdict-1"]


def test_a_callback_with_another_status_is_kept_aside_and_changes_nothing(world):
    world.finalized()
    world.callbacks.receive(world.callback(PROCESSED))
    world.verdict_wait.await_verdict(world.ids.workflow, "verdict-1")
    signals_before = list(world.executions.signals)

    receipt = world.callbacks.receive(world.callback(WorkflowStatus.TOKEN_EXPIRED))

    assert receipt == CallbackReceipt(CallbackOutcome.CONFLICTING, WorkflowStatus.TOKEN_EXPIRED)
    assert world.executions.signals == signals_before
    assert world.executions.failures == []
    assert world.ledger.get(world.ids.workflow).callback_status is PROCESSED
    assert world.ledger.verdict_item(world.ids.workflow)["conflictingCallbackStatus"] == (
        "TOKEN_EXPIRED"
    )


def test_a_callback_for_an_erased_session_keeps_nothing_and_wakes_nothing(world):
    world.finalized()
    world.verdict_wait.await_verdict(world.ids.workflow, "verdict-1")
    world.ledger.close_for_erasure(world.ids.workflow, "erasure-request-1")

    receipt = world.callbacks.receive(world.callback(PROCESSED))

    assert receipt == CallbackReceipt(CallbackOutcome.ERASED, PROCESSED)
    assert world.ledger.get(world.ids.workflow).callback_status is None
    assert world.executions.signal_attempts == 0


def test_a_callback_for_an_execution_never_registered_is_refused_and_leaves_nothing(world):
    stranger = Ids()

    with pytest.raises(UnknownExecution):
        world.callbacks.receive(world.callback(PROCESSED, ids=stranger))

    assert world.ledger.get(stranger.workflow) is None


def test_a_callback_naming_another_account_is_refused_by_its_field(world):
    world.finalized()
    world.verdict_wait.await_verdict(world.ids.workflow, "verdict-1")
    other_account = Ids(workflow=world.ids.workflow)

    with pytest.raises(InvalidMessage) as refused:
        world.callbacks.receive(world.callback(PROCESSED, ids=other_account))

    assert (refused.value.reason, refused.value.field) == ("INVALID_CALLBACK", "account.id")
    assert other_account.account not in str(refused.value)
    assert world.ledger.get(world.ids.workflow).callback_status is None
    assert world.executions.signal_attempts == 0


# --- an expiry while the session still waits for its parts --------------------------------------


@pytest.mark.parametrize("status", EXPIRIES)
def test_an_expiry_callback_ends_the_parts_wait_once_with_the_expired_error(world, status):
    world.register()
    world.ledger.store_task_token(world.ids.workflow, "parts-1")

    first = world.callbacks.receive(world.callback(status))
    again = world.callbacks.receive(world.callback(status))

    assert first == CallbackReceipt(CallbackOutcome.ACCEPTED, status, ended_parts_wait=True)
    assert again == CallbackReceipt(CallbackOutcome.DUPLICATE, status)
    [failure] = world.executions.failures
    assert (failure.task_token, failure.error) == ("parts-1", EXPIRED_AT_JUMIO_ERROR)
    assert failure.error == "SessionTokenExpired"
    assert status.value in failure.cause
    assert "parts-1" not in failure.cause
    assert world.executions.signal_attempts == 0


def test_an_expiry_callback_after_the_completion_signal_leaves_the_parts_wait_alone(world):
    world.land(*required_parts(world.register()))
    world.ledger.store_task_token(world.ids.workflow, "parts-1")
    assert world.signal(world.ids.workflow) is True

    receipt = world.callbacks.receive(world.callback(WorkflowStatus.SESSION_EXPIRED))

    assert (receipt.outcome, receipt.ended_parts_wait) == (CallbackOutcome.ACCEPTED, False)
    assert world.executions.failure_attempts == 0
    assert [token for token, _ in world.executions.signals] == ["parts-1"]


def test_once_the_parts_wait_is_ended_the_last_part_sends_no_completion_signal(world):
    parts = required_parts(world.register())
    world.land(*parts[:-1])
    world.ledger.store_task_token(world.ids.workflow, "parts-1")
    world.callbacks.receive(world.callback(WorkflowStatus.TOKEN_EXPIRED))

    world.land(parts[-1])

    assert world.signal(world.ids.workflow) is False
    assert world.executions.signal_attempts == 0
    assert [f.task_token for f in world.executions.failures] == ["parts-1"]


def test_an_expiry_callback_ending_a_wait_that_is_already_over_reports_so(world):
    world.register()
    world.ledger.store_task_token(world.ids.workflow, "parts-1")
    world.executions.end_wait("parts-1")

    receipt = world.callbacks.receive(world.callback(WorkflowStatus.TOKEN_EXPIRED))

    assert receipt.ended_parts_wait is False
    assert world.executions.failures == []


def test_an_expiry_callback_whose_failure_could_not_be_sent_ends_the_wait_when_repeated(world):
    world.register()
    world.ledger.store_task_token(world.ids.workflow, "parts-1")
    world.executions.fail_signals_with = ConnectionError("step functions throttled")
    with pytest.raises(ConnectionError):
        world.callbacks.receive(world.callback(WorkflowStatus.SESSION_EXPIRED))
    world.executions.fail_signals_with = None

    receipt = world.callbacks.receive(world.callback(WorkflowStatus.SESSION_EXPIRED))

    assert (receipt.outcome, receipt.ended_parts_wait) == (CallbackOutcome.DUPLICATE, True)
    assert world.executions.failures == [
        TaskFailure(
            "parts-1",
            EXPIRED_AT_JUMIO_ERROR,
            "Jumio reported the workflow execution SESSION_EXPIRED by callback",
        )
    ]


@pytest.mark.parametrize("status", [SessionStatus.FINALIZING, SessionStatus.FINALIZED])
def test_an_expiry_callback_after_finalize_began_ends_no_parts_wait(world, status):
    world.register()
    world.ledger.store_task_token(world.ids.workflow, "parts-1")
    world.end(status)

    receipt = world.callbacks.receive(world.callback(WorkflowStatus.TOKEN_EXPIRED))

    assert (receipt.outcome, receipt.ended_parts_wait) == (CallbackOutcome.ACCEPTED, False)
    assert world.executions.failure_attempts == 0


def test_a_processed_callback_never_ends_the_parts_wait(world):
    world.register()
    world.ledger.store_task_token(world.ids.workflow, "parts-1")

    receipt = world.callbacks.receive(world.callback(PROCESSED))

    assert receipt.ended_parts_wait is False
    assert world.executions.failure_attempts == 0
