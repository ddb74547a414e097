"""The HTTP layer: parse, fault, rate-limit, dispatch, log, answer (HTTP/1.1 keep-alive).

Faults that break the transport (`reset`, `drop`) live here because only this layer owns the
socket. Every API request is logged before its answer is written, so a test that reads the
log right after a response always sees it.
"""

from __future__ import annotations

import socket
import struct
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from jumio_simulator.admin import ADMIN_PREFIX, handle_admin
from jumio_simulator.app import Simulator
from jumio_simulator.errors import ApiError
from jumio_simulator.messages import ApiRequest, ApiResponse
from jumio_simulator.rate_limits import TOO_MANY_REQUESTS, retry_after_header
from jumio_simulator.routing import match_route, path_is_known

MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_DRAIN_BYTES = 64 * 1024 * 1024
RATE_LIMIT = "rate_limit"
INCOMPLETE_BODY = "incomplete_body"


class IncompleteBody(Exception):
    """The client closed the connection before the request body's end."""


class SimulatorHTTPServer(ThreadingHTTPServer):
    """A threading server that carries the Simulator its handlers serve."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        super().__init__(address, SimulatorRequestHandler)
        self.simulator = simulator
        simulator.served_at(self.base_url)
        simulator.start_background()

    @property
    def base_url(self) -> str:
        """`http://host:port` of the bound socket."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class SimulatorRequestHandler(BaseHTTPRequestHandler):
    """One connection; `_handle` runs per request."""

    protocol_version = "HTTP/1.1"
    server_version = "JumioSimulator/1.0"
    server: SimulatorHTTPServer

    def setup(self) -> None:
        """No Nagle delay: headers and body go out as separate writes on a keep-alive socket."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:
        """Silent: the request log is the record, and stderr noise would hide test output."""

    def do_GET(self) -> None:
        """GET requests."""
        self._handle()

    def do_POST(self) -> None:
        """POST requests."""
        self._handle()

    def do_PUT(self) -> None:
        """PUT requests."""
        self._handle()

    def do_DELETE(self) -> None:
        """DELETE requests."""
        self._handle()

    def do_PATCH(self) -> None:
        """PATCH requests (no route takes them: 405/404)."""
        self._handle()

    # --- plumbing --------------------------------------------------------------------------

    def _read_chunked(self) -> bytes:
        """A chunked body up to its last (zero) chunk; the connection ending first is no body."""
        chunks = []
        while True:
            size_line = self.rfile.readline()
            if not size_line:
                raise IncompleteBody("the connection ended inside a chunked body")
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunk = self.rfile.read(size)
            if len(chunk) < size:
                raise IncompleteBody("the connection ended inside a chunk")
            chunks.append(chunk)
            self.rfile.readline()

    def _read_body(self) -> bytes | None:
        """The body, or None when it is too large (then it is drained or the connection closed).

        Raises IncompleteBody when the client closes the connection before the body's end, as
        a client does that aborts an upload: like any HTTP server, Jumio never processes a
        request whose body did not arrive whole.
        """
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length <= MAX_BODY_BYTES:
            body = self.rfile.read(length)
            if len(body) < length:
                raise IncompleteBody(f"{len(body)} of {length} body bytes arrived")
            return body
        if length <= MAX_DRAIN_BYTES:
            remaining = length
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                remaining -= len(chunk)
        else:
            self.close_connection = True
        return None

    def _send(self, response: ApiResponse) -> None:
        payload = response.encoded()
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    def handle_one_request(self) -> None:
        """As http.server's, but quiet about the socket that a `reset`/`drop` fault closed."""
        try:
            super().handle_one_request()
        except ValueError:
            if not getattr(self, "_aborted", False):
                raise

    def _abort(self) -> None:
        """Close the socket with an RST and no response: the client sees a reset/aborted connection."""
        self.close_connection = True
        self._aborted = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.wfile.flush()
            self.rfile.close()
            self.wfile.close()
            self.connection.close()
        except OSError:
            pass

    # --- the request -----------------------------------------------------------------------

    def _handle(self) -> None:
        simulator = self.server.simulator
        path = urlsplit(self.path).path
        host = self.headers.get("Host") or self.server.base_url.removeprefix("http://")
        try:
            body = self._read_body()
        except (IncompleteBody, ConnectionResetError):  # a reset is as incomplete as an EOF
            self._give_up_incomplete(simulator, path)
            return
        request = ApiRequest(self.command, path, self.headers, body or b"", f"http://{host}")
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            self._send(handle_admin(simulator, request))
            return
        route = match_route(self.command, path)
        route_name = route.name if route else None
        fault = None
        if body is None:
            response = ApiResponse(413, ApiError(413, "request body larger than 16 MB").body())
        elif route is None:
            status = 405 if path_is_known(path) else 404
            response = ApiResponse(
                status, ApiError(status, f"no route for {self.command} {path}").body()
            )
        else:
            outcome = self._serve_route(simulator, request, route.name, route.params)
            if outcome is None:
                return
            response, fault = outcome
        simulator.log.record(
            route=route_name,
            method=self.command,
            path=path,
            status=response.status,
            fault=fault,
            at=simulator.state.timestamp(),
        )
        self._send(response)

    def _serve_route(
        self, simulator: Simulator, request: ApiRequest, route: str, params: dict[str, str]
    ) -> tuple[ApiResponse, str | None] | None:
        """The response and fault name, or None when a transport fault already ended the request."""
        decision = simulator.faults.decide(route)
        if decision.latency_ms:
            time.sleep(decision.latency_ms / 1000)
        kind = decision.kind
        if kind == "reset":
            self._log_transport_fault(simulator, route, request.path, "reset")
            self._abort()
            return None
        if kind == "429":
            headers = {"Retry-After": str(decision.retry_after)}
            return ApiResponse(429, dict(TOO_MANY_REQUESTS), headers), kind
        if kind in ("400", "500", "503"):
            error = ApiError(int(kind), "simulated fault")
            return ApiResponse(error.status, error.body()), kind
        wait = simulator.limits.wait_for(route)
        if wait is not None:
            profile = simulator.runtime.profile
            headers = retry_after_header(wait) if profile.retry_after_on_429 else {}
            return ApiResponse(429, dict(TOO_MANY_REQUESTS), headers), RATE_LIMIT
        response = simulator.dispatch(route, request, params)
        if kind == "drop":
            self._log_transport_fault(simulator, route, request.path, "drop")
            self._abort()
            return None
        if kind == "slow":
            # Processed now, answered late: a client that times out first is left uncertain.
            time.sleep(decision.slow_ms / 1000)
            return response, kind
        return response, None

    def _give_up_incomplete(self, simulator: Simulator, path: str) -> None:
        """Nothing processed, nothing answered (the client is gone); logged for the tests."""
        self.close_connection = True
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            return
        route = match_route(self.command, path)
        simulator.log.record(
            route=route.name if route else None,
            method=self.command,
            path=path,
            status=None,
            fault=INCOMPLETE_BODY,
            at=simulator.state.timestamp(),
        )

    def _log_transport_fault(self, simulator: Simulator, route: str, path: str, fault: str) -> None:
        simulator.log.record(
            route=route,
            method=self.command,
            path=path,
            status=None,
            fault=fault,
            at=simulator.state.timestamp(),
        )
