"""The admin API under /__admin: state, logs, faults, config, decisions, clock, reset.

No auth, no faults, no rate limits, not logged. Shapes are documented in docs/simulator.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jumio_simulator.decisions import DECISION_TYPES
from jumio_simulator.errors import ApiError, bad_request, not_found
from jumio_simulator.faults import FaultConfigError
from jumio_simulator.messages import ApiRequest, ApiResponse
from jumio_simulator.rate_limits import normalise_limits
from jumio_simulator.runtime_config import (
    ConfigError,
    check_error_mode,
    check_idle_seconds,
    check_seed,
)

if TYPE_CHECKING:
    from jumio_simulator.app import Simulator

ADMIN_PREFIX = "/__admin"
_CONFIG_KEYS = {"errorMode", "seed", "sessionIdleSeconds", "rateLimits"}


def _json_object(request: ApiRequest) -> dict[str, object]:
    body = request.json_body()
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object")
    return body


def _set_faults(sim: Simulator, request: ApiRequest) -> ApiResponse:
    try:
        sim.faults.configure(request.json_body())
    except FaultConfigError as error:
        raise bad_request(str(error)) from error
    return ApiResponse(200, sim.faults.describe())


def describe_config(sim: Simulator) -> dict[str, object]:
    """`GET /__admin/config`: error mode, seed and its answers, idle timeout, rate limits."""
    return {**sim.runtime.describe(), "rateLimits": sim.limits.describe()}


def _set_config(sim: Simulator, request: ApiRequest) -> ApiResponse:
    body = _json_object(request)
    unknown = set(body) - _CONFIG_KEYS
    if unknown:
        raise bad_request(f"config has unknown keys {sorted(unknown)}")
    try:  # check everything before changing anything
        check_error_mode(body.get("errorMode", sim.runtime.error_mode))
        check_seed(body.get("seed", 0))
        check_idle_seconds(body.get("sessionIdleSeconds", 1))
        normalise_limits(body.get("rateLimits"), sim.limits.describe())
    except ConfigError as error:
        raise bad_request(str(error)) from error
    sim.runtime.update(body)
    if "rateLimits" in body:
        sim.limits.update(body["rateLimits"])
    return ApiResponse(200, describe_config(sim))


def _set_decision(sim: Simulator, request: ApiRequest) -> ApiResponse:
    body = _json_object(request)
    execution_id, decision = body.get("workflowExecutionId"), body.get("decision")
    if decision is not None and decision not in DECISION_TYPES:
        raise bad_request(f"decision must be null or one of {', '.join(DECISION_TYPES)}")
    with sim.state.lock:
        execution = sim.state.executions.get(str(execution_id).lower())
        if execution is None:
            raise not_found("no such workflow execution")
        execution.decision_override = decision  # type: ignore[assignment]
    return ApiResponse(200, _decisions(sim))


def _decisions(sim: Simulator) -> dict[str, object]:
    with sim.state.lock:
        return {
            "overrides": {
                execution.id: execution.decision_override
                for execution in sim.state.executions.values()
                if execution.decision_override is not None
            }
        }


def _advance_clock(sim: Simulator, request: ApiRequest) -> ApiResponse:
    body = request.json_body()
    seconds = body.get("advanceSeconds") if isinstance(body, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        raise bad_request("advanceSeconds must be a non-negative number")
    offset = sim.advance_clock(float(seconds), sim.base_url(request.base_url))
    return ApiResponse(200, {"offsetSeconds": offset, "now": sim.state.timestamp()})


def _reset(sim: Simulator, request: ApiRequest) -> ApiResponse:
    sim.reset()
    return ApiResponse(200, {"reset": True})


def _clear_requests(sim: Simulator, request: ApiRequest) -> ApiResponse:
    sim.log.clear()
    return ApiResponse(200, {"cleared": True})


def _flush_callbacks(sim: Simulator, request: ApiRequest) -> ApiResponse:
    return ApiResponse(200, {"flushed": sim.callbacks.flush()})


def _clear_callbacks(sim: Simulator, request: ApiRequest) -> ApiResponse:
    sim.callbacks.clear()
    return ApiResponse(200, {"cleared": True})


_ROUTES = {
    ("GET", "/state"): lambda sim, request: ApiResponse(200, sim.state.as_admin_state()),
    ("GET", "/requests"): lambda sim, request: ApiResponse(200, sim.log.entries()),
    ("DELETE", "/requests"): _clear_requests,
    ("GET", "/callbacks"): lambda sim, request: ApiResponse(200, sim.callbacks.entries()),
    ("DELETE", "/callbacks"): _clear_callbacks,
    ("POST", "/callbacks/flush"): _flush_callbacks,
    ("GET", "/faults"): lambda sim, request: ApiResponse(200, sim.faults.describe()),
    ("POST", "/faults"): _set_faults,
    ("GET", "/config"): lambda sim, request: ApiResponse(200, describe_config(sim)),
    ("POST", "/config"): _set_config,
    ("GET", "/decisions"): lambda sim, request: ApiResponse(200, _decisions(sim)),
    ("POST", "/decisions"): _set_decision,
    ("POST", "/clock"): _advance_clock,
    ("POST", "/reset"): _reset,
}


def handle_admin(sim: Simulator, request: ApiRequest) -> ApiResponse:
    """Answer an admin request; 404 for an unknown admin path, 400 for a bad body."""
    handler = _ROUTES.get((request.method, request.path[len(ADMIN_PREFIX) :]))
    try:
        if handler is None:
            raise ApiError(404, f"no admin route {request.method} {request.path}")
        return handler(sim, request)
    except ApiError as error:
        return ApiResponse(error.status, error.body())
