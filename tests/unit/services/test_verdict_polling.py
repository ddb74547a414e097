"""PollVerdict: Jumio's status, read on Jumio's schedule and never more often.

Each poll reads the status once with the session's account, records it in the ledger, and
plans the next wait from the schedule (the first wait is planned by finalize:
test_finalization.py).
"""

from __future__ import annotations

import pytest

from jumio_pipeline.domain.errors import JumioUnavailable, SessionDeleted, SessionNotRegistered
from jumio_pipeline.domain.session_state import SessionStatus
from jumio_pipeline.domain.workflow_status import WorkflowStatus
from tests.support.fakes import JumioCall, jumio_unavailable
from tests.unit.services.conftest import Ids


def test_a_poll_reads_the_status_once_records_it_and_plans_the_next_wait(world):
    world.finalized()
    world.status.statuses[world.ids.workflow] = WorkflowStatus.ACQUIRED
    world.clock.advance(40)

    result = world.polling().poll(world.ids.workflow, 0)

    assert result.to_output() == {
        "status": "ACQUIRED",
        "round": 1,
        "waitSeconds": 20,
        "exhausted": False,
    }
    assert world.status.calls == [
        JumioCall("status", account_id=world.ids.account, workflow_execution_id=world.ids.workflow)
    ]
    assert world.ledger.verdict_item(world.ids.workflow) == {
        "lastPolledStatus": "ACQUIRED",
        "lastPolledAt": int(world.clock()),
        "polls": 1,
    }


def test_the_tenth_poll_says_the_schedule_is_spent(world):
    world.finalized()
    world.status.statuses[world.ids.workflow] = WorkflowStatus.ACQUIRED

    results = [world.polling().poll(world.ids.workflow, done) for done in range(10)]

    assert [r.plan.wait_seconds for r in results] == [20, 40, 60, 80, 100, 120, 140, 160, 180, None]
    assert [r.plan.exhausted for r in results] == [False] * 9 + [True]
    assert world.ledger.verdict_item(world.ids.workflow)["polls"] == 10


def test_a_processed_status_is_reported_for_the_state_machine_to_decide(world):
    world.finalized()
    world.status.statuses[world.ids.workflow] = WorkflowStatus.PROCESSED

    result = world.polling().poll(world.ids.workflow, 2)

    assert (result.status, result.plan.round) == (WorkflowStatus.PROCESSED, 3)


def test_another_schedule_is_followed(world):
    world.finalized()
    polling = world.polling((1, 2, 3))

    assert polling.poll(world.ids.workflow, 0).plan.wait_seconds == 1
    assert polling.poll(world.ids.workflow, 2).plan.exhausted


def test_a_poll_jumio_does_not_answer_records_nothing(world):
    world.finalized()
    world.status.fail("status", jumio_unavailable(operation="status"))

    with pytest.raises(JumioUnavailable):
        world.polling().poll(world.ids.workflow, 0)

    assert world.ledger.verdict_item(world.ids.workflow) == {}


def test_an_erased_or_unknown_session_is_not_polled(world):
    world.finalized()
    world.end(SessionStatus.DELETED)

    with pytest.raises(SessionDeleted):
        world.polling().poll(world.ids.workflow, 0)
    with pytest.raises(SessionNotRegistered):
        world.polling().poll(Ids().workflow, 0)

    assert world.status.calls == []
