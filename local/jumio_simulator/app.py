"""The simulator's composition root: config, state, faults, limits, log, lifecycle, dispatch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jumio_simulator import credentials_api, retrieval_api, tenant_api
from jumio_simulator.callbacks import CallbackDispatcher
from jumio_simulator.error_modes import DEFAULT_ERROR_MODE, as_answered
from jumio_simulator.errors import ApiError
from jumio_simulator.faults import FaultInjector
from jumio_simulator.lifecycle import Lifecycle
from jumio_simulator.messages import ApiRequest, ApiResponse
from jumio_simulator.model import SimulatorState
from jumio_simulator.rate_limits import RateLimiter
from jumio_simulator.request_log import RequestLog
from jumio_simulator.runtime_config import DEFAULT_SESSION_IDLE_SECONDS, RuntimeConfig

Handler = Callable[["Simulator", ApiRequest, dict[str, str]], ApiResponse]

HANDLERS: dict[str, Handler] = {
    "token": tenant_api.issue_token,
    "account_create": tenant_api.create_account,
    "account_update": tenant_api.update_account,
    "status": retrieval_api.retrieval_status,
    "details": retrieval_api.retrieval_details,
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
    """Start-up options (CLI flags and `run_simulator(**options)` keywords).

    `rate_limits`: None or True for Jumio's documented limits, False to switch them off, or an
    object overriding parts of them (see `rate_limits.normalise_limits`).
    """

    client_id: str = "local-client"
    client_secret: str = "local-secret"  # noqa: S105 - the documented local default
    seed: int | None = None
    faults: dict[str, object] | None = None
    processing_delay: float = 0.2
    public_base_url: str | None = None
    error_mode: str = DEFAULT_ERROR_MODE
    session_idle_seconds: float = DEFAULT_SESSION_IDLE_SECONDS
    rate_limits: bool | dict[str, object] | None = None


class Simulator:
    """Everything behind the HTTP layer; safe to call from many server threads."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.state = SimulatorState()
        self.faults = FaultInjector(self.config.seed)
        self.log = RequestLog()
        self.runtime = RuntimeConfig(
            self.config.error_mode, self.config.seed, self.config.session_idle_seconds
        )
        self.limits = RateLimiter(self.config.rate_limits)
        self.callbacks = CallbackDispatcher(self.faults, self.state.timestamp)
        self._served_at = "http://127.0.0.1"
        self.lifecycle = Lifecycle(
            self.state,
            self.callbacks,
            lambda: self.runtime.session_idle_seconds,
            self.config.processing_delay,
            lambda: self.base_url(self._served_at),
        )
        if self.config.faults is not None:
            self.faults.configure(self.config.faults)

    def served_at(self, base_url: str) -> None:
        """Where the server listens: the href base for callbacks nobody's request caused."""
        self._served_at = base_url

    def base_url(self, request_base: str) -> str:
        """The base URL hrefs point at: the configured one, else the Host the request came on."""
        return (self.config.public_base_url or request_base).rstrip("/")

    def dispatch(self, route: str, request: ApiRequest, params: dict[str, str]) -> ApiResponse:
        """Run the route's handler, turning refusals into JSON errors as the error mode says."""
        try:
            request.require_user_agent()
            return HANDLERS[route](self, request, params)
        except ApiError as refusal:
            error = as_answered(refusal, self.runtime.error_mode, self.runtime.profile)
            return ApiResponse(error.status, error.body(), dict(error.headers))

    def advance_clock(self, seconds: float, base_url: str) -> float:
        """Move the simulated clock forward and settle every execution now past a deadline."""
        with self.state.lock:
            self.state.clock_offset += seconds
            self.lifecycle.settle_all(base_url)
            return self.state.clock_offset

    def reset(self) -> None:
        """Forget all state, faults, logs and the clock; start-up config and full buckets back."""
        self.lifecycle.cancel_pending()
        self.state.clear()
        self.faults.configure({})
        self.log.clear()
        self.runtime.restore()
        self.limits.restore()

    def start_background(self) -> None:
        """Start the expiry sweep (the server does this when it starts)."""
        self.lifecycle.start_sweeper()

    def stop_timers(self) -> None:
        """Stop the sweep, pending processing and callbacks (shutdown)."""
        self.lifecycle.shutdown()
