"""How an execution's status moves on its own: processing, token and session expiry, callbacks.

INITIATED ends in one of three ways: finalize (ACQUIRED, then PROCESSED after the processing
delay), its token lifetime passing (TOKEN_EXPIRED), or - once the first action (an upload or a
part deletion) happened - the session idle timeout passing without another action
(SESSION_EXPIRED). When both deadlines have passed, the earlier one decides. Expiry is applied
whenever an execution is touched, when the admin clock moves, and by a background sweep once
a second, so a callback goes out even if nobody asks.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

from jumio_simulator.callbacks import CallbackDispatcher, callback_body
from jumio_simulator.model import (
    ACQUIRED,
    CALLBACK_STATUSES,
    INITIATED,
    PROCESSED,
    SESSION_EXPIRED,
    TOKEN_EXPIRED,
    SimulatorState,
    WorkflowExecution,
)

SWEEP_INTERVAL_SECONDS = 1.0


class Lifecycle:
    """Status changes that happen over time, and the callbacks they send."""

    def __init__(
        self,
        state: SimulatorState,
        callbacks: CallbackDispatcher,
        idle_seconds: Callable[[], float],
        processing_delay: float,
        default_base_url: Callable[[], str],
    ) -> None:
        self._state = state
        self._callbacks = callbacks
        self._idle_seconds = idle_seconds
        self._processing_delay = processing_delay
        self._default_base_url = default_base_url
        self._timers: list[threading.Timer] = []
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None

    def notify(self, execution: WorkflowExecution, base_url: str) -> None:
        """Schedule the callback for an ending status, if the execution has a callbackUrl."""
        if not execution.callback_url or execution.status not in CALLBACK_STATUSES:
            return
        body = callback_body(
            base_url=base_url,
            account_id=execution.account_id,
            execution_id=execution.id,
            definition_key=execution.definition_key,
            status=execution.status,
            user_reference=execution.user_reference,
        )
        self._callbacks.send(execution.callback_url, execution.id, execution.status, body)

    def settle(self, execution: WorkflowExecution, base_url: str | None = None) -> None:
        """Apply a due TOKEN_EXPIRED or SESSION_EXPIRED to an INITIATED execution."""
        with self._state.lock:
            if execution.status != INITIATED or execution.deleted:
                return
            token_due = execution.token_expires_at
            session_due = (
                math.inf
                if execution.last_action_at is None
                else execution.last_action_at + self._idle_seconds()
            )
            due = min(token_due, session_due)
            if self._state.now() < due:
                return
            execution.status = SESSION_EXPIRED if session_due < token_due else TOKEN_EXPIRED
            execution.completed_at = due
            self.notify(execution, base_url or self._default_base_url())

    def settle_all(self, base_url: str | None = None) -> None:
        """Settle every execution (clock moves and the background sweep)."""
        with self._state.lock:
            for execution in list(self._state.executions.values()):
                self.settle(execution, base_url)

    def token_expired(self, execution: WorkflowExecution) -> bool:
        """True once the simulated clock reached the execution's token expiry."""
        with self._state.lock:
            return self._state.now() >= execution.token_expires_at

    def record_action(self, execution: WorkflowExecution) -> None:
        """An upload or part deletion: the session (re)starts its idle countdown."""
        now = self._state.now()
        execution.last_action_at = now
        if execution.started_at is None:
            execution.started_at = now

    def start_processing(self, execution: WorkflowExecution, base_url: str) -> None:
        """Finalize: ACQUIRED now, PROCESSED (and a callback) after the processing delay."""
        execution.status = ACQUIRED
        if execution.started_at is None:
            execution.started_at = self._state.now()
        generation = self._state.generation
        timer = threading.Timer(
            self._processing_delay, self._finish_processing, (execution.id, generation, base_url)
        )
        timer.daemon = True
        self._timers = [t for t in self._timers if t.is_alive()] + [timer]
        timer.start()

    def _finish_processing(self, execution_id: str, generation: int, base_url: str) -> None:
        with self._state.lock:
            execution = self._state.executions.get(execution_id)
            if generation != self._state.generation or execution is None or execution.deleted:
                return
            if execution.status == ACQUIRED:
                execution.status = PROCESSED
                execution.completed_at = self._state.now()
                self.notify(execution, base_url)

    def cancel_pending(self) -> None:
        """Cancel processing timers and pending callbacks (reset)."""
        with self._state.lock:
            for timer in self._timers:
                timer.cancel()
            self._timers = []
        self._callbacks.cancel_all()

    def start_sweeper(self) -> None:
        """Start the once-a-second expiry sweep (idempotent)."""
        if self._sweeper is not None:
            return
        self._sweeper = threading.Thread(target=self._sweep, name="jumio-sweeper", daemon=True)
        self._sweeper.start()

    def _sweep(self) -> None:
        while not self._stop.wait(SWEEP_INTERVAL_SECONDS):
            self.settle_all()

    def shutdown(self) -> None:
        """Stop the sweep, processing timers and pending callbacks."""
        self._stop.set()
        self.cancel_pending()
        if self._sweeper is not None:
            self._sweeper.join(timeout=5)
