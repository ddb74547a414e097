"""CompletionSignal: the "all parts landed" signal goes out exactly once, whoever races for it.

The in-memory ledger decides each claim under one lock, as DynamoDB decides a conditional
write, so these races are real races with a single possible winner, not interleavings that
happen to work out.
"""

from __future__ import annotations

import pytest

from jumio_pipeline.domain.session_state import PartEvidence
from jumio_pipeline.services.completion import CompletionSignal
from jumio_pipeline.services.session_tasks import SessionTasks
from tests.support.racing import run_together
from tests.unit.services.conftest import required_parts

THREADS = 16


def test_exactly_one_of_many_racing_callers_sends_the_signal(world):
    world.land(*required_parts(world.register()))
    world.ledger.store_task_token(world.ids.workflow, "task-token-1")
    signal = world.signal

    results = run_together(*[lambda: signal(world.ids.workflow)] * THREADS)

    assert results.count(True) == 1
    assert results.count(False) == THREADS - 1
    assert world.executions.signal_attempts == 1
    assert [token for token, _ in world.executions.signals] == ["task-token-1"]


@pytest.mark.parametrize("round_", range(20))
def test_the_last_part_and_the_wait_state_racing_signal_exactly_once(world, round_):
    # The two events the claim arbitrates: the last part lands (and tries to signal) while
    # the wait state stores its task token (and tries to signal). Whoever comes second wins.
    [face] = required_parts(world.register(("SELFIE",)))
    signal = world.signal
    tasks = SessionTasks(ledger=world.ledger, signal_completion=signal, clock=world.clock)

    def last_part_lands() -> bool:
        landed = world.ledger.record_part_uploaded(world.ids.workflow, face, PartEvidence())
        return landed.all_landed and signal(world.ids.workflow)

    results = run_together(
        last_part_lands, lambda: tasks.await_parts(world.ids.workflow, "task-token-1")
    )

    assert results.count(True) == 1
    assert world.executions.signals == [
        ("task-token-1", {"workflowExecutionId": world.ids.workflow, "allPartsLanded": True})
    ]


@pytest.mark.parametrize("missing", ["a pending part", "the wait's task token"])
def test_nothing_is_sent_while_a_part_is_pending_or_no_wait_holds_a_token(world, missing):
    parts = required_parts(world.register())
    if missing == "a pending part":
        world.land(*parts[:-1])
        world.ledger.store_task_token(world.ids.workflow, "task-token-1")
    else:
        world.land(*parts)

    assert world.signal(world.ids.workflow) is False
    assert world.executions.signal_attempts == 0
    assert world.ledger.get(world.ids.workflow).completion_signalled is False


def test_a_claim_whose_signal_could_not_be_sent_is_released_for_the_retry(world):
    world.land(*required_parts(world.register()))
    world.ledger.store_task_token(world.ids.workflow, "task-token-1")
    world.executions.fail_signals_with = ConnectionError("step functions throttled")
    signal = world.signal

    with pytest.raises(ConnectionError):
        signal(world.ids.workflow)

    assert world.ledger.get(world.ids.workflow).completion_signalled is False
    world.executions.fail_signals_with = None
    assert signal(world.ids.workflow) is True
    assert [token for token, _ in world.executions.signals] == ["task-token-1"]


def test_a_wait_that_is_already_over_keeps_the_claim_until_a_new_wait_stores_its_token(world):
    world.land(*required_parts(world.register()))
    world.ledger.store_task_token(world.ids.workflow, "task-token-1")
    world.executions.end_wait("task-token-1")
    signal = CompletionSignal(ledger=world.ledger, executions=world.executions)

    assert signal(world.ids.workflow) is False
    assert signal(world.ids.workflow) is False
    assert world.executions.signal_attempts == 1  # the claim held: no second send

    world.ledger.store_task_token(world.ids.workflow, "task-token-2")
    assert signal(world.ids.workflow) is True
    assert [token for token, _ in world.executions.signals] == ["task-token-2"]
