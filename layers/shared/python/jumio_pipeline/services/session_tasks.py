"""The session state machine's small steps: wait for the parts, check a renewed token, record.

WaitForAllParts stores the task token and completes at once if every part landed first;
CheckTokenRenewal tells how long a renewed token still lives; Record* writes how the session
ended. Their input is checked by :mod:`jumio_pipeline.domain.task_input`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from jumio_pipeline.domain.errors import SessionNotWaiting
from jumio_pipeline.domain.session_state import SessionStatus
from jumio_pipeline.services.ports import Clock, CompletionLedger, OutcomeLedger


class SessionLedger(CompletionLedger, OutcomeLedger):
    """The ledger roles the task steps use."""


class SessionTasks:
    """The task steps; each returns a plain answer for the handler to shape (ids only).

    ``signal_completion`` is needed by ``await_parts`` only (the other steps never signal).
    """

    def __init__(
        self,
        *,
        ledger: SessionLedger,
        signal_completion: Callable[[str], bool] | None = None,
        clock: Clock = time.time,
    ) -> None:
        self._ledger = ledger
        self._signal_completion = signal_completion
        self._clock = clock

    def await_parts(self, workflow_execution_id: str, task_token: str) -> bool:
        """Park the wait state's token and complete at once if every part landed.

        Returns True when this call sent the completion signal itself (the parts were first).
        """
        if self._signal_completion is None:
            raise TypeError("await_parts needs a signal_completion")
        if not self._ledger.store_task_token(workflow_execution_id, task_token):
            raise SessionNotWaiting(
                f"workflow execution {workflow_execution_id} is unknown or no longer accepts parts"
            )
        return self._signal_completion(workflow_execution_id)

    def seconds_until_token_expiry(self, workflow_execution_id: str) -> int:
        """Seconds left on the session's Jumio token, as recorded now; 0 if it ended.

        The wait state's timeout was the token's life at registration. A newer account response
        for the same execution may have replaced the tokens since; then the wait goes on.
        """
        record = self._ledger.get(workflow_execution_id)
        if record is None or record.status is not SessionStatus.REGISTERED:
            return 0
        return record.session.seconds_until_token_expiry(self._clock())

    def record_outcome(
        self, workflow_execution_id: str, outcome: SessionStatus, error: str | None
    ) -> bool:
        """Write the outcome; False (not an error) when the session was erased meanwhile.

        An erased session must stay erased: the ledger refuses to write over DELETED, and a
        retried Record step must not fail the execution for it.
        """
        return self._ledger.record_outcome(workflow_execution_id, outcome, error=error)
