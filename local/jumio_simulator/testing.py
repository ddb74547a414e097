"""Run the simulator inside a test process: `with run_simulator() as sim: ...`.

Uses only the stdlib HTTP client, so the simulator stays dependency-free apart from Pillow.
"""

from __future__ import annotations

import base64
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from jumio_simulator.app import Simulator, SimulatorConfig
from jumio_simulator.server import SimulatorHTTPServer

USER_AGENT = "LocalTests JumioSimulatorHandle/1.0"


class SimulatorRequestError(RuntimeError):
    """A helper call the simulator refused; carries the status and Jumio's detail, never tokens."""

    def __init__(self, method: str, path: str, status: int, detail: str) -> None:
        super().__init__(f"{method} {path} answered {status}: {detail}")
        self.status = status


def _call(
    base_url: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    request = urllib.request.Request(
        base_url + path,
        data=body,
        method=method,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        detail = json.loads(error.read() or b"{}").get("detail", "")
        raise SimulatorRequestError(method, path, error.code, str(detail)) from None


def _json(payload: object) -> tuple[bytes, dict[str, str]]:
    return json.dumps(payload).encode(), {"Content-Type": "application/json"}


class AdminClient:
    """The `/__admin` API as methods."""

    def __init__(self, base_url: str) -> None:
        self._base_url = base_url

    def state(self) -> dict[str, Any]:
        """Accounts and workflow executions with their part counters."""
        return _call(self._base_url, "GET", "/__admin/state")

    def requests(self) -> list[dict[str, Any]]:
        """The request log (seq, route, method, path, status, fault, at)."""
        return _call(self._base_url, "GET", "/__admin/requests")

    def clear_requests(self) -> None:
        """Empty the request log."""
        _call(self._base_url, "DELETE", "/__admin/requests")

    def set_faults(self, config: dict[str, Any]) -> dict[str, Any]:
        """Replace the fault config (see docs/simulator.md)."""
        body, headers = _json(config)
        return _call(self._base_url, "POST", "/__admin/faults", body, headers)

    def faults(self) -> dict[str, Any]:
        """The active fault config and the remaining script entries."""
        return _call(self._base_url, "GET", "/__admin/faults")

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        """Move the simulated clock forward (token expiry, TOKEN_EXPIRED)."""
        body, headers = _json({"advanceSeconds": seconds})
        return _call(self._base_url, "POST", "/__admin/clock", body, headers)

    def reset(self) -> None:
        """Forget all state, faults, the request log and the clock offset."""
        _call(self._base_url, "POST", "/__admin/reset")


class SimulatorHandle:
    """What `run_simulator` yields: where the simulator is and how to drive it."""

    def __init__(self, base_url: str, simulator: Simulator) -> None:
        self.base_url = base_url
        self.simulator = simulator
        self.admin = AdminClient(base_url)
        self.client_id = simulator.config.client_id
        self.client_secret = simulator.config.client_secret

    def access_token(self) -> str:
        """A tenant OAuth access token via the real token endpoint."""
        basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        headers = {
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        return _call(
            self.base_url, "POST", "/oauth2/token", b"grant_type=client_credentials", headers
        )["access_token"]

    def create_account(
        self,
        workflow_key: int | str = 10013,
        *,
        token_lifetime: str = "30m",  # noqa: S107 - a duration, not a secret
        callback_url: str | None = None,
        account_id: str | None = None,
    ) -> dict[str, Any]:
        """The account create (or, with `account_id`, update) response JSON, via the real routes."""
        payload: dict[str, Any] = {
            "customerInternalReference": "local-test",
            "workflowDefinition": {"key": workflow_key},
            "tokenLifetime": token_lifetime,
        }
        if callback_url is not None:
            payload["callbackUrl"] = callback_url
        body, headers = _json(payload)
        headers["Authorization"] = f"Bearer {self.access_token()}"
        if account_id is None:
            return _call(self.base_url, "POST", "/api/v1/accounts", body, headers)
        return _call(self.base_url, "PUT", f"/api/v1/accounts/{account_id}", body, headers)


@contextmanager
def run_simulator(**options: Any) -> Iterator[SimulatorHandle]:
    """Serve a simulator on 127.0.0.1 (ephemeral port) in a background thread; stop it on exit.

    Options are SimulatorConfig fields: client_id, client_secret, seed, faults,
    processing_delay, public_base_url.
    """
    simulator = Simulator(SimulatorConfig(**options))
    server = SimulatorHTTPServer(("127.0.0.1", 0), simulator)
    thread = threading.Thread(target=server.serve_forever, name="jumio-simulator", daemon=True)
    thread.start()
    try:
        yield SimulatorHandle(server.base_url, simulator)
    finally:
        server.shutdown()
        server.server_close()
        simulator.stop_timers()
        thread.join(timeout=5)
