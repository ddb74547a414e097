"""WaitForVerdict and the verdict signal: the wait is woken exactly once, whoever comes second.

The two events are Jumio's callback (recorded by CallbackReceiver) and the wait storing its
task token (VerdictWait). The in-memory ledger decides each claim under one lock, as DynamoDB
decides a conditional write, so the threaded races below have a single possible winner.
"""

from __future__ import annotations

import pytest

from jumio_pipeline.domain.errors import SessionNotWaiting
from jumio_pipeline.domain.session_state import SessionStatus
from jumio_pipeline.domain.workflow_status import WorkflowStatus
from tests.support.racing import run_together
from tests.unit.services.conftest import Ids

PROCESSED = WorkflowStatus.PROCESSED


def test_the_wait_stores_its_token_and_waits_while_no_callback_came(world):
    world.finalized()

    assert world.verdict_wait.await_verdict(world.ids.workflow, "verdict-1") is False

    assert world.ledger.verdict_task_token(world.ids.workflow) == "verdict-1"
    assert world.executions.signal_attempts == 0


def test_the_wait_wakes_itself_when_the_callback_came_first(world):
    world.finalized()
    world.callbacks.receive(world.callback(PROCESSED))

    assert world.verdict_wait.await_verdict(world.ids.workflow, "verdict-1") is True

    assert world.executions.signals == [
        ("verdict-1", {"workflowExecutionId": world.ids.workflow, "status": "PROCESSED"})
    ]


def test_the_callback_wakes_the_wait_when_the_wait_came_first(world):
    world.finalized()
    world.verdict_wait.await_verdict(world.ids.workflow, "verdict-1")

    assert world.callbacks.receive(world.callback(PROCESSED)).woke_verdict_wait is True

    assert [token for token, _ in world.executions.signals] == ["verdict-1"]


@pytest.mark.parametrize("round_", range(20))
def test_a_callback_and_the_wait_racing_wake_it_exactly_once(world, round_):
    world.finalized()
    callbacks, wait = world.callbacks, world.verdict_wait

    results = run_together(
        lambda: callbacks.receive(world.callback(PROCESSED)).woke_verdict_wait,
        lambda: wait.await_verdict(world.ids.workflow, "verdict-1"),
    )

    assert results.count(True) == 1
    assert world.executions.signal_attempts == 1
    assert [token for token, _ in world.executions.signals] == ["verdict-1"]


def test_many_racing_signals_send_one(world):
    world.finalized()
    world.callbacks.receive(world.callback(PROCESSED))
    world.ledger.store_verdict_token(world.ids.workflow, "verdict-1")
    signal = world.verdict_signal

    results = run_together(*[lambda: signal(world.ids.workflow)] * 16)

    assert results.count(True) == 1
    assert world.executions.signal_attempts == 1


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
def test_a_session_that_is_not_finalized_is_refused_a_verdict_wait(world, status):
    world.register()
    if status is not SessionStatus.REGISTERED:
        world.end(status)

    with pytest.raises(SessionNotWaiting):
        world.verdict_wait.await_verdict(world.ids.workflow, "verdict-1")

    assert world.ledger.verdict_task_token(world.ids.workflow) is None
    assert world.executions.signal_attempts == 0


def test_an_execution_never_registered_is_refused_a_verdict_wait(world):
    with pytest.raises(SessionNotWaiting) as refused:
        world.verdict_wait.await_verdict(Ids().workflow, "verdict-1")

    assert "verdict-1" not in str(refused.value)


def test_a_signal_that_could_not_be_sent_gives_its_claim_back(world):
    world.finalized()
    world.callbacks.receive(world.callback(PROCESSED))
    world.executions.fail_signals_with = ConnectionError("step functions throttled")

    with pytest.raises(ConnectionError):
        world.verdict_wait.await_verdict(world.ids.workflow, "verdict-1")

    assert "verdictSignalledAt" not in world.ledger.verdict_item(world.ids.workflow)
    world.executions.fail_signals_with = None
    assert world.verdict_signal(world.ids.workflow) is True
    assert [token for token, _ in world.executions.signals] == ["verdict-1"]


def test_a_signal_for_a_wait_that_timed_out_is_given_back_for_the_next_wait(world):
    # The wait timed out (a poll is due) just as the callback came: its token is spent.
    world.finalized()
    world.verdict_wait.await_verdict(world.ids.workflow, "verdict-1")
    world.executions.end_wait("verdict-1")

    assert world.callbacks.receive(world.callback(PROCESSED)).woke_verdict_wait is False
    assert world.executions.signal_attempts == 1

    # Not sent, so not spent: the next wait takes it at once.
    assert world.verdict_wait.await_verdict(world.ids.workflow, "verdict-2") is True
    assert [token for token, _ in world.executions.signals] == ["verdict-2"]


def test_a_callback_that_woke_a_wait_does_not_wake_the_next_one(world):
    world.finalized()
    world.verdict_wait.await_verdict(world.ids.workflow, "verdict-1")
    assert world.callbacks.receive(world.callback(PROCESSED)).woke_verdict_wait is True

    # The status read said "not yet": the next wait ends on its poll, not on the same callback.
    assert world.verdict_wait.await_verdict(world.ids.workflow, "verdict-2") is False
    assert [token for token, _ in world.executions.signals] == ["verdict-1"]
