"""Whether a failed Jumio call may have been carried out: ``JumioUnavailable.maybe_applied``.

An account create whose answer was lost must leave its reference uncertain (each success is a
billable workflow execution), but one that never reached Jumio must free it at once. The client
can only know the second for sure when no connection was made: a refused connection or a
connect timeout. Real sockets on loopback play every case: a closed port (refused), a listener
whose backlog is full (the connect times out), a server that accepts and never answers (a read
timeout, the request was sent), and a tiny Jumio that answers the token and holds the account
request. Clocks and sleeps between retries are injected; the timeouts themselves are real and
short.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jumio_pipeline.adapters.jumio import JumioHttp, JumioSettings
from jumio_pipeline.adapters.jumio.tenant import TenantClient
from jumio_pipeline.domain.errors import JumioUnavailable
from jumio_pipeline.services.start_session import TOKEN_OPERATION

SHORT = 0.3  # seconds: the connect or read timeout of these calls


class FakeTime:
    """The retry budget's clock and sleep: the clock moves only by the sleeps, which also run
    ``on_sleep`` (a test closes a listener there, between two attempts)."""

    def __init__(self, on_sleep: Callable[[], None] | None = None) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._on_sleep = on_sleep

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self._on_sleep is not None:
            self._on_sleep()


def client(port: int, fake: FakeTime, *, max_attempts: int) -> JumioHttp:
    settings = JumioSettings(
        base_url=f"http://127.0.0.1:{port}",
        connect_timeout=SHORT,
        read_timeout=SHORT,
        max_attempts=max_attempts,
        backoff_base=0.1,
    )
    return JumioHttp(settings, sleep=fake.sleep, clock=fake.clock, rng=random.Random(5))


def send(http: JumioHttp, *, retry_after_sent: bool) -> JumioUnavailable:
    """An account-create-like POST that fails; the error it ended with."""
    with pytest.raises(JumioUnavailable) as failed:
        http.send(
            "account_create",
            "POST",
            f"{http.settings.base_url}/api/v1/accounts",
            bearer="tenant-token",
            json_body={"customerInternalReference": "order-1001"},
            retry_after_sent=retry_after_sent,
        )
    return failed.value


# --- sockets ---------------------------------------------------------------------------------


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def full_backlog_port() -> Iterator[int]:
    """A listener that never accepts, its backlog filled: a new connect times out (the kernel
    drops the SYN), as it does when Jumio's host cannot be reached."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers: list[socket.socket] = []
    try:
        for _ in range(32):
            filler = socket.socket()
            filler.settimeout(SHORT)
            fillers.append(filler)
            try:
                filler.connect(("127.0.0.1", port))
            except TimeoutError:
                break
        else:
            pytest.fail("the listener's backlog never filled up")
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


class SilentServer:
    """Accepts every connection, reads nothing and answers nothing, until it is closed."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):  # the listener was closed
            while True:
                connection, _ = self.listener.accept()
                self.accepted.append(connection)

    def stop_listening(self) -> None:
        """Close the listening socket: later connects are refused."""
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()

    def close(self) -> None:
        self.stop_listening()
        self._thread.join(timeout=5)
        for connection in self.accepted:
            connection.close()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    try:
        yield server
    finally:
        server.close()


# --- no connection was made: nothing reached Jumio ------------------------------------------------


@pytest.mark.parametrize("retry_after_sent", [False, True])
def test_a_refused_connection_was_never_applied(closed_port, retry_after_sent):
    with client(closed_port, FakeTime(), max_attempts=1) as http:
        error = send(http, retry_after_sent=retry_after_sent)

    assert error.maybe_applied is False
    assert error.operation == "account_create"
    assert "connection error" in str(error)


def test_refused_connections_retried_for_a_create_were_never_applied(closed_port):
    fake = FakeTime()
    with client(closed_port, fake, max_attempts=3) as http:
        error = send(http, retry_after_sent=False)

    assert "after 3 attempt(s)" in str(error)
    assert error.maybe_applied is False


def test_a_connect_timeout_was_never_applied(full_backlog_port):
    fake = FakeTime()
    with client(full_backlog_port, fake, max_attempts=2) as http:
        error = send(http, retry_after_sent=False)

    assert "timeout error after 2 attempt(s)" in str(error)
    assert error.maybe_applied is False


# --- a connection was made: the request may have been carried out -----------------------------


def test_a_read_timeout_may_have_been_applied_and_is_not_repeated(silent_server):
    fake = FakeTime()
    with client(silent_server.port, fake, max_attempts=3) as http:
        error = send(http, retry_after_sent=False)

    assert error.maybe_applied is True
    assert "timeout error after 1 attempt(s)" in str(error)
    assert fake.sleeps == []  # no second attempt


def test_a_refusal_after_a_sent_attempt_still_may_have_been_applied(silent_server):
    # A call that may be repeated: attempt 1 is sent and times out; the listener closes
    # before attempt 2, which is refused. The last error alone says "never connected".
    fake = FakeTime(on_sleep=silent_server.stop_listening)
    with client(silent_server.port, fake, max_attempts=2) as http:
        error = send(http, retry_after_sent=True)

    assert len(fake.sleeps) == 1
    assert "after 2 attempt(s)" in str(error)
    assert error.maybe_applied is True


# --- through the tenant client: which call failed ---------------------------------------------


class _TinyJumio(BaseHTTPRequestHandler):
    """Answers the OAuth token; holds the account request without answering."""

    release = threading.Event()
    arrived = threading.Event()
    account_requests = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/oauth2/token":
            body = json.dumps({"access_token": "tenant-token", "expires_in": 3600}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        type(self).account_requests += 1
        self.arrived.set()
        self.release.wait(timeout=30)

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def tiny_jumio() -> Iterator[tuple[int, type[_TinyJumio]]]:
    handler = type(
        "Handler", (_TinyJumio,), {"release": threading.Event(), "arrived": threading.Event()}
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], handler
    finally:
        handler.release.set()
        server.shutdown()
        server.server_close()


def test_an_account_create_whose_answer_is_lost_is_sent_once_and_may_have_been_applied(
    tiny_jumio,
):
    port, handler = tiny_jumio
    with client(port, FakeTime(), max_attempts=3) as http:
        tenant = TenantClient(http, "client-id", "client-secret")
        with pytest.raises(JumioUnavailable) as lost:
            tenant.create_account({"customerInternalReference": "order-1001"})

    assert (lost.value.operation, lost.value.maybe_applied) == ("account_create", True)
    assert "after 1 attempt(s)" in str(lost.value)
    assert handler.arrived.wait(timeout=10)  # the server may see it after the client gave up
    assert handler.account_requests == 1


def test_a_token_call_that_fails_is_named_as_such_not_as_the_account_request(silent_server):
    with client(silent_server.port, FakeTime(), max_attempts=1) as http:
        tenant = TenantClient(http, "client-id", "client-secret")
        with pytest.raises(JumioUnavailable) as failed:
            tenant.create_account({"customerInternalReference": "order-1001"})

    # SessionStarts frees the reference for this operation: the account request never went.
    assert failed.value.operation == TOKEN_OPERATION
    assert failed.value.maybe_applied is True
