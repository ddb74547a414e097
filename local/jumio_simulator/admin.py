"""The admin API under /__admin: state, request log, faults, clock, reset (no auth, no faults)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jumio_simulator.errors import ApiError, bad_request
from jumio_simulator.faults import FaultConfigError
from jumio_simulator.messages import ApiRequest, ApiResponse

if TYPE_CHECKING:
    from jumio_simulator.app import Simulator

ADMIN_PREFIX = "/__admin"


def _set_faults(sim: Simulator, request: ApiRequest) -> ApiResponse:
    try:
        sim.faults.configure(request.json_body())
    except FaultConfigError as error:
        raise bad_request(str(error)) from error
    return ApiResponse(200, sim.faults.describe())


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


_ROUTES = {
    ("GET", "/state"): lambda sim, request: ApiResponse(200, sim.state.as_admin_state()),
    ("GET", "/requests"): lambda sim, request: ApiResponse(200, sim.log.entries()),
    ("DELETE", "/requests"): _clear_requests,
    ("GET", "/faults"): lambda sim, request: ApiResponse(200, sim.faults.describe()),
    ("POST", "/faults"): _set_faults,
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
