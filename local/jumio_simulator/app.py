"""The simulator's composition root: config, state, faults, log, lifecycle and dispatch."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from jumio_simulator import credentials_api, tenant_api
from jumio_simulator.callbacks import callback_body, send_callback
from jumio_simulator.errors import ApiError
from jumio_simulator.faults import FaultInjector
from jumio_simulator.messages import ApiRequest, ApiResponse
from jumio_simulator.model import (
    ACQUIRED,
    INITIATED,
    PROCESSED,
    TOKEN_EXPIRED,
    SimulatorState,
    WorkflowExecution,
)
from jumio_simulator.request_log import RequestLog

Handler = Callable[["Simulator", ApiRequest, dict[str, str]], ApiResponse]

HANDLERS: dict[str, Handler] = {
    "token": tenant_api.issue_token,
    "account_create": tenant_api.create_account,
    "account_update": tenant_api.update_account,
    "status": tenant_api.retrieval_status,
    "delete_workflow": tenant_api.delete_workflow,
    "delete_account": tenant_api.delete_account,
    "add_part": credentials_api.add_part,
    "update_part": credentials_api.update_part,
    "prepared_data": credentials_api.upload_prepared_data,
    "document": credentials_api.upload_document,
    "delete_part": credentials_api.delete_part,
    "delete_pages": credentials_api.delete_pages,
    "finalize": credentials_api.finalize,
}


@dataclass(frozen=True)
class SimulatorConfig:
    """Start-up options (CLI flags and `run_simulator(**options)` keywords)."""

    client_id: str = "local-client"
    client_secret: str = "local-secret"  # noqa: S105 - the documented local default
    seed: int | None = None
    faults: dict[str, object] | None = None
    processing_delay: float = 0.2
    public_base_url: str | None = None


class Simulator:
    """Everything behind the HTTP layer; safe to call from many server threads."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.state = SimulatorState()
        self.faults = FaultInjector(self.config.seed)
        self.log = RequestLog()
        self._timers: list[threading.Timer] = []
        if self.config.faults is not None:
            self.faults.configure(self.config.faults)

    def base_url(self, request_base: str) -> str:
        """The base URL hrefs point at: the configured one, else the Host the request came on."""
        return (self.config.public_base_url or request_base).rstrip("/")

    def dispatch(self, route: str, request: ApiRequest, params: dict[str, str]) -> ApiResponse:
        """Run the route's handler, turning refusals into Jumio-shaped JSON errors."""
        try:
            request.require_user_agent()
            return HANDLERS[route](self, request, params)
        except ApiError as error:
            return ApiResponse(error.status, error.body(), dict(error.headers))

    # --- lifecycle -------------------------------------------------------------------------

    def notify(self, execution: WorkflowExecution, base_url: str) -> None:
        """POST the callback for the execution's current status, if it has a callbackUrl."""
        if not execution.callback_url:
            return
        body = callback_body(
            sent_at=self.state.timestamp(),
            base_url=base_url,
            account_id=execution.account_id,
            execution_id=execution.id,
            definition_key=execution.definition_key,
            status=execution.status,
            user_reference=execution.user_reference,
        )
        send_callback(execution.callback_url, body)

    def expire_if_due(self, execution: WorkflowExecution, base_url: str) -> bool:
        """True when the execution's token has expired; an untouched one becomes TOKEN_EXPIRED."""
        with self.state.lock:
            if self.state.now() < execution.token_expires_at:
                return False
            if execution.status == INITIATED and not execution.deleted:
                execution.status = TOKEN_EXPIRED
                self.notify(execution, base_url)
            return True

    def start_processing(self, execution: WorkflowExecution, base_url: str) -> None:
        """Finalize: ACQUIRED now, PROCESSED (and a callback) after the processing delay."""
        execution.status = ACQUIRED
        generation = self.state.generation
        timer = threading.Timer(
            self.config.processing_delay,
            self._finish_processing,
            (execution.id, generation, base_url),
        )
        timer.daemon = True
        self._timers = [t for t in self._timers if t.is_alive()] + [timer]
        timer.start()

    def _finish_processing(self, execution_id: str, generation: int, base_url: str) -> None:
        with self.state.lock:
            execution = self.state.executions.get(execution_id)
            if generation != self.state.generation or execution is None or execution.deleted:
                return
            if execution.status == ACQUIRED:
                execution.status = PROCESSED
                self.notify(execution, base_url)

    def advance_clock(self, seconds: float, base_url: str) -> float:
        """Move the simulated clock forward and expire every execution now past its token."""
        with self.state.lock:
            self.state.clock_offset += seconds
            for execution in list(self.state.executions.values()):
                self.expire_if_due(execution, base_url)
            return self.state.clock_offset

    def reset(self) -> None:
        """Forget all state, faults, the request log and the clock offset."""
        self.stop_timers()
        self.state.clear()
        self.faults.configure({})
        self.log.clear()

    def stop_timers(self) -> None:
        """Cancel pending processing timers (on reset and shutdown)."""
        with self.state.lock:
            for timer in self._timers:
                timer.cancel()
            self._timers = []
