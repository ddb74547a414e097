"""The demo's backend client: it asks again when told to wait, and only then.

Why: the start-session function answers 409 START_IN_PROGRESS or 503 with Retry-After when a
start cannot go on now (nothing created); a backend waits and asks again. Any other refusal must
stop the demo with its status, never be repeated (an account request is billable). Checked
against a small HTTP server on loopback that answers as scripted.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from local_cloud import start_client

ANSWER = {"workflowExecutionId": "wf-1", "captures": [], "preparedData": []}


class _Scripted(ThreadingHTTPServer):
    """Answers each POST with the next (status, body, headers) of its script; records them."""

    def __init__(self, script: list[tuple[int, dict, dict[str, str]]]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = script
        self.received: list[dict[str, str]] = []


class _Handler(BaseHTTPRequestHandler):
    server: _Scripted

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append(dict(self.headers))
        status, body, headers = self.server.script.pop(0)
        data = json.dumps(body).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(request) -> Iterator[_Scripted]:
    scripted = _Scripted(request.param)
    thread = threading.Thread(target=scripted.serve_forever, daemon=True)
    thread.start()
    try:
        yield scripted
    finally:
        scripted.shutdown()
        scripted.server_close()


def _url(server: _Scripted) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/"


@pytest.mark.parametrize(
    "server",
    [
        [
            (409, {"error": "START_IN_PROGRESS"}, {"Retry-After": "1"}),
            (503, {"error": "JUMIO_THROTTLED"}, {"Retry-After": "2"}),
            (201, ANSWER, {}),
        ]
    ],
    indirect=True,
)
def test_a_start_told_to_wait_is_asked_again_after_retry_after(server):
    waits: list[float] = []

    answer = start_client.start_session(
        _url(server), {"reference": "demo-1"}, region="us-east-1", sleep=waits.append
    )

    assert answer == ANSWER
    assert waits == [1.0, 2.0]
    assert len(server.received) == 3
    assert all(h["Authorization"].startswith("AWS4-HMAC-SHA256 ") for h in server.received)


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        ([(400, {"error": "INVALID_START_REQUEST"}, {})], (400, "INVALID_START_REQUEST")),
        (
            [(409, {"error": "START_OUTCOME_UNKNOWN"}, {"Retry-After": "1860"})],
            (409, "START_OUTCOME_UNKNOWN"),
        ),
        ([(502, {"error": "TENANT_CREDENTIALS_REFUSED"}, {})], (502, "TENANT_CREDENTIALS_REFUSED")),
    ],
    indirect=["server"],
)
def test_any_other_refusal_stops_at_once_with_its_status(server, expected):
    waits: list[float] = []

    with pytest.raises(start_client.StartRefused) as refused:
        start_client.start_session(
            _url(server), {"reference": "demo-1"}, region="us-east-1", sleep=waits.append
        )

    assert (refused.value.status, refused.value.error) == expected
    assert waits == []
    assert len(server.received) == 1
