"""Retrying a message whose session is not registered yet, with growing delays, bounded.

Captures and prepared data travel on queues independent of the sessions queue, so either may
arrive before its registration: the normal race in production. Both wait the same way.

A copy of the message goes back onto its queue with a delay doubling per attempt (SQS caps a
delay at 900 s) and the attempt count beside it; the original is then reported done. This
backs off independently of the queue's maxReceiveCount, which stays reserved for outages. Once
the message is older than ``max_wait_seconds`` (measured from when it was first produced) it is
parked in the DLQ with SESSION_NOT_REGISTERED.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from jumio_pipeline.services.ports import Clock, DeadLetters, Requeue

SESSION_NOT_REGISTERED = "SESSION_NOT_REGISTERED"
MAX_DELAY_SECONDS = 900  # the longest DelaySeconds SQS accepts


@dataclass(frozen=True)
class WaitDecision:
    """What became of a message whose session is not registered yet."""

    parked: bool
    attempt: int
    delay_seconds: int


class SessionWait:
    """``retry_or_park``: requeue with a longer delay, or park once it waited long enough."""

    def __init__(
        self,
        *,
        requeue: Requeue,
        dead_letters: DeadLetters,
        max_wait_seconds: float,
        base_delay_seconds: float,
        clock: Clock = time.time,
    ) -> None:
        self._requeue = requeue
        self._dead_letters = dead_letters
        self._max_wait = max_wait_seconds
        self._base_delay = base_delay_seconds
        self._clock = clock

    def retry_or_park(
        self, *, body: str, attempt: int, produced_at: float, message_id: str
    ) -> WaitDecision:
        """Requeue ``body`` after a delay doubling per attempt, or park it after the bound."""
        if self._clock() - produced_at >= self._max_wait:
            self._dead_letters.park(
                body=body,
                reason=SESSION_NOT_REGISTERED,
                message=(
                    f"no session was registered within {int(self._max_wait)} s of the message "
                    f"({attempt} retries)"
                ),
                source_message_id=message_id,
            )
            return WaitDecision(parked=True, attempt=attempt, delay_seconds=0)
        delay = int(min(MAX_DELAY_SECONDS, self._base_delay * 2 ** min(attempt, 30)))
        self._requeue.send(
            body=body, delay_seconds=delay, attempt=attempt + 1, first_seen_at=produced_at
        )
        return WaitDecision(parked=False, attempt=attempt + 1, delay_seconds=delay)
