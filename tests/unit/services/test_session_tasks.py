"""SessionTasks: the state machine's small steps (wait for parts, check the token, record)."""

from __future__ import annotations

import uuid

import pytest

from jumio_pipeline.domain.errors import SessionNotWaiting
from jumio_pipeline.domain.session_state import SessionStatus
from jumio_pipeline.services.session_tasks import SessionTasks
from tests.unit.services.conftest import World, required_parts


@pytest.fixture
def tasks(world: World) -> SessionTasks:
    return SessionTasks(ledger=world.ledger, signal_completion=world.signal, clock=world.clock)


# --- WaitForAllParts ------------------------------------------------------------------------


def test_the_wait_parks_its_token_while_parts_are_pending(world, tasks):
    world.register()

    assert tasks.await_parts(world.ids.workflow, "task-token-1") is False

    assert world.ledger.task_token(world.ids.workflow) == "task-token-1"
    assert world.executions.signal_attempts == 0


def test_the_wait_completes_at_once_when_every_part_landed_first(world, tasks):
    world.land(*required_parts(world.register()))

    assert tasks.await_parts(world.ids.workflow, "task-token-1") is True

    assert [token for token, _ in world.executions.signals] == ["task-token-1"]


def test_a_wait_that_timed_out_and_waits_again_is_signalled_on_its_new_token(world, tasks):
    world.land(*required_parts(world.register()))
    world.executions.end_wait("task-token-1")  # the first wait timed out before the signal
    assert tasks.await_parts(world.ids.workflow, "task-token-1") is False

    assert tasks.await_parts(world.ids.workflow, "task-token-2") is True

    assert [token for token, _ in world.executions.signals] == ["task-token-2"]


@pytest.mark.parametrize(
    "status", [SessionStatus.FINALIZING, SessionStatus.EXPIRED, SessionStatus.DELETED]
)
def test_a_wait_for_a_session_that_ended_fails_clearly(world, tasks, status):
    world.register()
    world.end(status)

    with pytest.raises(SessionNotWaiting):
        tasks.await_parts(world.ids.workflow, "task-token-1")

    assert world.ledger.get(world.ids.workflow).has_task_token is False


def test_a_wait_for_an_unknown_session_fails_clearly(tasks):
    with pytest.raises(SessionNotWaiting):
        tasks.await_parts(str(uuid.uuid4()), "task-token-1")


def test_waiting_needs_a_completion_signal(world):
    world.register()
    tasks = SessionTasks(ledger=world.ledger, clock=world.clock)

    with pytest.raises(TypeError):
        tasks.await_parts(world.ids.workflow, "task-token-1")

    assert world.ledger.get(world.ids.workflow).has_task_token is False


# --- CheckTokenRenewal ------------------------------------------------------------------------


def test_the_token_life_left_is_read_from_the_ledger_now(world, tasks):
    session = world.register()

    assert tasks.seconds_until_token_expiry(world.ids.workflow) == (
        session.token_expires_at - int(world.clock())
    )
    world.clock.advance(600)
    assert tasks.seconds_until_token_expiry(world.ids.workflow) == (
        session.token_expires_at - int(world.clock())
    )


def test_a_renewed_token_gives_the_wait_more_time(world, tasks):
    session = world.register()
    world.clock.now = session.token_expires_at  # the first token ran out
    assert tasks.seconds_until_token_expiry(world.ids.workflow) == 0

    renewed = world.register(timestamp="2024-05-01T10:25:00.000Z", generation=2)

    assert renewed.issued_at > session.issued_at
    assert tasks.seconds_until_token_expiry(world.ids.workflow) == 25 * 60


@pytest.mark.parametrize("status", [SessionStatus.FINALIZED, SessionStatus.DELETED])
def test_an_ended_session_has_no_token_life_left(world, tasks, status):
    world.register()
    world.end(status)

    assert tasks.seconds_until_token_expiry(world.ids.workflow) == 0
    assert tasks.seconds_until_token_expiry(str(uuid.uuid4())) == 0


# --- Record* ----------------------------------------------------------------------------------


def test_an_outcome_is_recorded_with_its_error_and_drops_the_task_token(world, tasks):
    world.register()
    tasks.await_parts(world.ids.workflow, "task-token-1")

    assert tasks.record_outcome(world.ids.workflow, SessionStatus.FAILED, "JumioRejected")

    record = world.ledger.get(world.ids.workflow)
    assert (record.status, record.has_task_token) == (SessionStatus.FAILED, False)
    assert world.ledger.outcome_error(world.ids.workflow) == "JumioRejected"


def test_an_outcome_never_overwrites_an_erasure(world, tasks):
    world.register()
    world.end(SessionStatus.DELETED)

    assert tasks.record_outcome(world.ids.workflow, SessionStatus.FINALIZED, None) is False

    assert world.ledger.get(world.ids.workflow).status is SessionStatus.DELETED
