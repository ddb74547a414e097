"""SessionWait: a message whose session is not registered yet waits longer each time, then parks."""

from __future__ import annotations

import pytest

from jumio_pipeline.services.session_wait import MAX_DELAY_SECONDS, SessionWait
from tests.support.fakes import FakeClock, InMemoryDeadLetters, InMemoryRequeue

PRODUCED_AT = 1_714_557_600.0
MAX_WAIT = 3600
BODY = '{"Records": []}'


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(PRODUCED_AT)


@pytest.fixture
def requeue() -> InMemoryRequeue:
    return InMemoryRequeue()


@pytest.fixture
def dead_letters() -> InMemoryDeadLetters:
    return InMemoryDeadLetters()


@pytest.fixture
def wait(clock, requeue, dead_letters) -> SessionWait:
    return SessionWait(
        requeue=requeue,
        dead_letters=dead_letters,
        max_wait_seconds=MAX_WAIT,
        base_delay_seconds=5,
        clock=clock,
    )


def test_each_retry_waits_twice_as_long_and_carries_the_next_attempt(wait, clock, requeue):
    decisions = []
    for attempt in range(4):
        clock.advance(1)
        decisions.append(
            wait.retry_or_park(body=BODY, attempt=attempt, produced_at=PRODUCED_AT, message_id="m")
        )

    assert [(d.parked, d.attempt, d.delay_seconds) for d in decisions] == [
        (False, 1, 5),
        (False, 2, 10),
        (False, 3, 20),
        (False, 4, 40),
    ]
    assert [(m.body, m.delay_seconds, m.attempt) for m in requeue.sent] == [
        (BODY, 5, 1),
        (BODY, 10, 2),
        (BODY, 20, 3),
        (BODY, 40, 4),
    ]


@pytest.mark.parametrize("attempt", [8, 30, 1000])
def test_the_delay_never_exceeds_what_sqs_accepts(wait, requeue, attempt):
    decision = wait.retry_or_park(
        body=BODY, attempt=attempt, produced_at=PRODUCED_AT, message_id="m"
    )

    assert decision.delay_seconds == MAX_DELAY_SECONDS
    assert requeue.sent[-1].delay_seconds == MAX_DELAY_SECONDS


def test_a_message_that_waited_long_enough_is_parked_with_the_reason_and_not_requeued(
    wait, clock, requeue, dead_letters
):
    clock.now = PRODUCED_AT + MAX_WAIT

    decision = wait.retry_or_park(body=BODY, attempt=7, produced_at=PRODUCED_AT, message_id="m-42")

    assert (decision.parked, decision.attempt, decision.delay_seconds) == (True, 7, 0)
    assert requeue.sent == []
    [parked] = dead_letters.parked
    assert (parked.body, parked.reason, parked.source_message_id) == (
        BODY,
        "SESSION_NOT_REGISTERED",
        "m-42",
    )
    assert "3600 s" in parked.message
    assert "7 retries" in parked.message


def test_a_message_just_inside_the_bound_is_still_retried(wait, clock, requeue, dead_letters):
    clock.now = PRODUCED_AT + MAX_WAIT - 1

    decision = wait.retry_or_park(body=BODY, attempt=7, produced_at=PRODUCED_AT, message_id="m")

    assert decision.parked is False
    assert len(requeue.sent) == 1
    assert dead_letters.parked == []
