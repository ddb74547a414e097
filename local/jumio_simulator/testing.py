"""Run the simulator inside a test process: `with run_simulator() as sim: ...`.

Uses only the stdlib HTTP client, so the simulator stays dependency-free apart from Pillow.
The handle's token and account helpers go through the real, rate-limited routes, so they
retry a 429 the way a polite client does: after `Retry-After` when the answer has one, after
a short growing pause otherwise.
"""

from __future__ import annotations

import base64
import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from jumio_simulator.app import Simulator, SimulatorConfig
from jumio_simulator.server import SimulatorHTTPServer

USER_AGENT = "LocalTests JumioSimulatorHandle/1.0"
RATE_LIMIT_PATIENCE_SECONDS = 60.0
_BACKOFF_FIRST_SECONDS = 0.05
_BACKOFF_CAP_SECONDS = 1.0
T = TypeVar("T")


class SimulatorRequestError(RuntimeError):
    """A helper call the simulator refused; carries the status and Jumio's detail, never tokens."""

    def __init__(
        self, method: str, path: str, status: int, detail: str, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{method} {path} answered {status}: {detail}")
        self.status = status
        self.retry_after = retry_after


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def retry_throttled(
    call: Callable[[], T],
    *,
    patience: float = RATE_LIMIT_PATIENCE_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    jitter: Callable[[], float] = lambda: random.uniform(0.8, 1.0),
) -> T:
    """`call()`, repeated while it answers 429, for at most `patience` seconds.

    Waits `Retry-After` seconds when the 429 carries it, else a pause that doubles from 50 ms
    up to 1 s; either is scaled by `jitter()` (80-100 %), so that racing callers spread out.
    A 429 is refused before any processing, so repeating is safe.
    """
    deadline = clock() + patience
    attempt = 0
    while True:
        try:
            return call()
        except SimulatorRequestError as error:
            if error.status != 429 or clock() >= deadline:
                raise
            backoff = min(_BACKOFF_CAP_SECONDS, _BACKOFF_FIRST_SECONDS * 2**attempt)
            pause = error.retry_after if error.retry_after is not None else backoff
            sleep(min(max(pause * jitter(), 0.01), max(deadline - clock(), 0)))
            attempt += 1


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
        retry_after = _retry_after(error.headers.get("Retry-After"))
        raise SimulatorRequestError(method, path, error.code, str(detail), retry_after) from None


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

    def callbacks(self) -> list[dict[str, Any]]:
        """The callback log (seq, workflowExecutionId, status, copy, fault, outcome, ...)."""
        return _call(self._base_url, "GET", "/__admin/callbacks")

    def flush_callbacks(self) -> int:
        """Send every delayed callback copy now (earliest due first); how many were pending."""
        return _call(self._base_url, "POST", "/__admin/callbacks/flush")["flushed"]

    def config(self) -> dict[str, Any]:
        """Error mode, seed and its answers to undocumented questions, idle timeout, limits."""
        return _call(self._base_url, "GET", "/__admin/config")

    def set_config(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Change errorMode, seed, sessionIdleSeconds and/or rateLimits (a partial update)."""
        body, headers = _json(changes)
        return _call(self._base_url, "POST", "/__admin/config", body, headers)

    def set_decision(self, workflow_execution_id: str, decision: str | None) -> dict[str, Any]:
        """Force PASSED/REJECTED/WARNING/NOT_EXECUTED for one execution (None: the marker)."""
        body, headers = _json({"workflowExecutionId": workflow_execution_id, "decision": decision})
        return _call(self._base_url, "POST", "/__admin/decisions", body, headers)

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        """Move the simulated clock forward (token expiry, TOKEN_EXPIRED)."""
        body, headers = _json({"advanceSeconds": seconds})
        return _call(self._base_url, "POST", "/__admin/clock", body, headers)

    def reset(self) -> None:
        """Forget state, faults, logs and the clock; start-up config and full rate buckets."""
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
        """A fresh tenant OAuth access token via the real token endpoint (429s retried)."""
        basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        headers = {
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        return retry_throttled(
            lambda: _call(
                self.base_url, "POST", "/oauth2/token", b"grant_type=client_credentials", headers
            )["access_token"]
        )

    def create_account(
        self,
        workflow_key: int | str = 10013,
        *,
        token_lifetime: str = "30m",  # noqa: S107 - a duration, not a secret
        callback_url: str | None = None,
        account_id: str | None = None,
        customer_internal_reference: str = "local-test",
        user_reference: str | None = None,
    ) -> dict[str, Any]:
        """The account create (or, with `account_id`, update) response JSON, via the real routes.

        A `customer_internal_reference` containing `reject`, `warn` or `notexec` chooses the
        decision the execution gets once PROCESSED (see docs/simulator.md).
        """
        payload: dict[str, Any] = {
            "customerInternalReference": customer_internal_reference,
            "workflowDefinition": {"key": workflow_key},
            "tokenLifetime": token_lifetime,
        }
        if callback_url is not None:
            payload["callbackUrl"] = callback_url
        if user_reference is not None:
            payload["userReference"] = user_reference
        body, headers = _json(payload)
        method, path = (
            ("POST", "/api/v1/accounts")
            if account_id is None
            else ("PUT", f"/api/v1/accounts/{account_id}")
        )

        headers["Authorization"] = f"Bearer {self.access_token()}"
        return retry_throttled(lambda: _call(self.base_url, method, path, body, headers))


@contextmanager
def run_simulator(**options: Any) -> Iterator[SimulatorHandle]:
    """Serve a simulator on 127.0.0.1 (ephemeral port) in a background thread; stop it on exit.

    Options are SimulatorConfig fields: client_id, client_secret, seed, faults,
    processing_delay, public_base_url, error_mode, session_idle_seconds, rate_limits.
    """
    simulator = Simulator(SimulatorConfig(**options))
    server = SimulatorHTTPServer(("127.0.0.1", 0), simulator)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.1},
        name="jumio-simulator",
        daemon=True,
    )
    thread.start()
    try:
        yield SimulatorHandle(server.base_url, simulator)
    finally:
        server.shutdown()
        server.server_close()
        simulator.stop_timers()
        thread.join(timeout=5)
