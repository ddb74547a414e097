"""Registering a session: a Jumio account response becomes a ledger session and one execution.

Registering the same execution twice is a no-op (the ledger's conditional put, and Step
Functions refuses a second execution of the same name); a newer response for the same
execution replaces its tokens. The execution is named by the workflowExecutionId and gets ids
and the token's remaining life as input, never a token.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jumio_pipeline.domain.registration import parse_registration
from jumio_pipeline.domain.session import Session
from jumio_pipeline.domain.session_state import RegisterOutcome
from jumio_pipeline.services.ports import Clock, Executions, RegistrationLedger


@dataclass(frozen=True)
class Registration:
    """What registering one message did: ids and the outcome (safe to log)."""

    session: Session
    outcome: RegisterOutcome
    execution_started: bool


class RegistrationService:
    """``register(body)``: raises InvalidMessage for a message that can never be registered."""

    def __init__(
        self,
        *,
        ledger: RegistrationLedger,
        executions: Executions,
        signal_completion: Callable[[str], bool],
        href_allowed: Callable[[str], bool] | None = None,
        clock: Clock = time.time,
    ) -> None:
        self._href_allowed = href_allowed
        self._ledger = ledger
        self._executions = executions
        self._signal_completion = signal_completion
        self._clock = clock

    def register(self, body: dict[str, Any]) -> Registration:
        """Record the session and start its execution (once)."""
        now = self._clock()
        session = parse_registration(body, now=now, href_allowed=self._href_allowed)
        outcome = self._ledger.register(session, now=now)
        # An ended or erased session (IGNORED_ENDED) never gets an execution again.
        resumable = outcome in (RegisterOutcome.DUPLICATE, RegisterOutcome.TOKENS_REPLACED)
        start = outcome is RegisterOutcome.NEW or (
            resumable and self._execution_not_started(session.workflow_execution_id)
        )
        if start:
            arn = self._executions.start_execution(
                session.workflow_execution_id, self._execution_input(session)
            )
            self._ledger.record_execution(session.workflow_execution_id, arn)
        if outcome is RegisterOutcome.TOKENS_REPLACED:
            # The wait may already be parked on a token; if every part landed, let it go on.
            self._signal_completion(session.workflow_execution_id)
        return Registration(session=session, outcome=outcome, execution_started=start)

    def _execution_not_started(self, workflow_execution_id: str) -> bool:
        """A repeated registration whose first attempt stopped between ledger and execution."""
        current = self._ledger.get(workflow_execution_id)
        return current is not None and current.execution_arn is None

    def _execution_input(self, session: Session) -> dict[str, Any]:
        return {
            "workflowExecutionId": session.workflow_execution_id,
            "accountId": session.account_id,
            "secondsUntilTokenExpiry": max(1, session.seconds_until_token_expiry(self._clock())),
            "finalizeRounds": 0,
        }
